"""Static files: fingerprinted URLs cached for a year, the favicon, and compressed text.

`url_for('static', filename=...)` adds `?v=<hash of the file's content>`, so a changed
file gets a new URL and browsers may keep each version for good. A request whose `v`
matches the file's current content is answered with a year-long immutable cache
header; any other static request keeps Flask's `no-cache` (revalidate with the ETag).
"""
import hashlib
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from flask import Flask, Response, current_app, request, send_from_directory
from werkzeug.security import safe_join

from .extensions import compress
from .sessions import serve_without_session

FINGERPRINT_ARG = "v"
IMMUTABLE = "public, max-age=31536000, immutable"


@lru_cache(maxsize=256)
def _digest(path: str, modified_ns: int) -> str:
    """The first 12 hex digits of the file's SHA-256 (the mtime keys the cache)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def fingerprint(filename: str) -> str | None:
    """The content hash of a file under static/, or None when there is no such file."""
    path = safe_join(current_app.static_folder or "", filename)
    if path is None:
        return None
    try:
        return _digest(path, Path(path).stat().st_mtime_ns)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _add_fingerprint(endpoint: str | None, values: dict) -> None:
    if endpoint == "static" and "filename" in values and FINGERPRINT_ARG not in values:
        digest = fingerprint(values["filename"])
        if digest:
            values[FINGERPRINT_ARG] = digest


def _cache_fingerprinted(response: Response) -> Response:
    if (request.endpoint == "static" and response.status_code in (200, 304)
            and request.args.get(FINGERPRINT_ARG)
            and request.args[FINGERPRINT_ARG] == fingerprint((request.view_args or {}).get("filename", ""))):
        response.headers["Cache-Control"] = IMMUTABLE
    return response


def _read_static_text(response: Response) -> Response:
    """Static text files are small: read them whole so that Flask-Compress compresses
    them as it does pages (its streaming path would leave the file open)."""
    if (request.endpoint == "static" and response.status_code == 200
            and response.mimetype in current_app.config["COMPRESS_MIMETYPES"]):
        response.direct_passthrough = False
        response.get_data()  # closes the file when the response is closed
    return response


def favicon() -> Response:
    """/favicon.ico, which browsers ask for whatever the page links to."""
    return send_from_directory(current_app.static_folder or "", "favicon.ico",
                               mimetype="image/vnd.microsoft.icon")


def favicon_data_uri(static_folder: str) -> str:
    """static/favicon.svg as a data: URI for the pages' <link rel="icon">: a linked icon
    is a request the browser makes during the first paint, one round trip that a phone
    on a slow network waits for before its largest paint (Lighthouse's LCP)."""
    svg = (Path(static_folder) / "favicon.svg").read_text(encoding="utf-8")
    return "data:image/svg+xml," + quote(svg.strip(), safe=" /=:\"'")


def init_app(app: Flask) -> None:
    app.jinja_env.globals["favicon_href"] = favicon_data_uri(app.static_folder or "")
    app.url_defaults(_add_fingerprint)
    app.after_request(_cache_fingerprinted)
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    serve_without_session(app, "/favicon.ico")
    # HTML, CSS, JavaScript, JSON and SVG go out compressed (Brotli or gzip, as the
    # browser accepts): see COMPRESS_* in config.py.
    compress.init_app(app)
    # Registered after Flask-Compress's hook, so it runs before it.
    app.after_request(_read_static_text)
