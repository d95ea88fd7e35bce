"""Print the Chromium executable the browser tests will drive, or exit 1.

Playwright's own download is preferred when present; offline machines use Debian's
`chromium` package. Override with PLAYWRIGHT_CHROMIUM_EXECUTABLE.
"""
import os
import shutil
import sys
from pathlib import Path


def find_chromium() -> str | None:
    override = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE")
    if override:
        return override if Path(override).exists() else None
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            bundled = p.chromium.executable_path
        if bundled and Path(bundled).exists():
            return bundled
    except Exception:  # Playwright missing or its browser not downloaded
        pass
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


if __name__ == "__main__":
    found = find_chromium()
    if not found:
        sys.exit(1)
    print(found)
