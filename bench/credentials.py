#!/usr/bin/env python3
"""Offline credentials (issue 19): the default-scope credential's size and QR version,
the server time to issue one, the browser's time to verify one offline (median of 20 in
Playwright), and the status lists' compressed size for 1,000,000 certificates.

Targets: at most 1,200 bytes; at most 10 ms to issue; at most 50 ms to verify; at most
200 KB of status lists. `make bench` runs it after bench/run.py; alone:
    .venv/bin/python bench/credentials.py [--residents 300] [--runs 20]
It seeds a small SQLite database of its own in a temporary directory.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path

import qrcode

import servers  # first: puts the repository on sys.path
from servers import HOST, PYTHON, REPO, free_port

from credit_self.certificates import credentials, store
from credit_self.db import sqlite_url
from tests.browser.find_chromium import find_chromium
from tests.conftest import persona

TARGETS = {"credential_bytes": 1200, "issue_ms": 10, "verify_ms": 50, "status_kb": 200}


def qr_version(data: str) -> int:
    """The smallest QR version holding `data` at the error correction the page uses (L)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(data)
    code.make(fit=True)
    return code.version


def status_lists_kb(certificates: int, revoked_share: float) -> float:
    """Compressed size of every list 1,000,000 certificates need, a share of them
    revoked at random indexes, as the app lays them out (half of each list used)."""
    lists = math.ceil(certificates / store.STATUS_LIST_FILL)
    total = 0
    for _ in range(lists):
        bits = bytearray(store.STATUS_LIST_SIZE // 8)
        used = secrets.SystemRandom().sample(range(store.STATUS_LIST_SIZE), store.STATUS_LIST_FILL)
        for index in used[:int(len(used) * revoked_share)]:
            bits[index // 8] |= 1 << (index % 8)
        total += len(credentials.b64url(zlib.compress(bytes(bits), 9)))
    return total / 1000


def seed(directory: Path, residents: int, base_url: str) -> dict[str, str]:
    """A small seeded database, and the settings of an app serving it at `base_url` (the
    credentials name their status list there, as the verifier requires)."""
    database = directory / "credentials.db"
    env = {**os.environ, "FLASK_APP": "app", "CREDIT_SELF_DATABASE_URL": sqlite_url(database),
           "CREDIT_SELF_PUBLIC_BASE_URL": base_url,
           "CREDIT_SELF_SECRET_KEY": servers.SECRET_KEY, "CREDIT_SELF_RATELIMIT_ENABLED": "0",
           "CREDIT_SELF_CERTIFICATE_ISSUER_KEY_DIR": str(directory / "keys")}
    subprocess.run([PYTHON, "-m", "flask", "seed", "--residents", str(residents)], cwd=REPO,
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def issue_timings(env: dict[str, str], runs: int) -> tuple[list[float], list[float], str]:
    """Server time of POST /certificates (offline, default scope), in the app's process,
    and of an online one for comparison (what signing and the status bit add)."""
    os.environ.update(env)
    from credit_self import create_app

    app = create_app({"WTF_CSRF_ENABLED": False})
    client = app.test_client()
    who = persona("clean")
    client.post("/login", data={"id_number": who["id_number"], "password": who["password"]})
    form = {"statements": "no_blacklist", "purpose": "rental", "hours": "72", "mode": "offline"}
    client.post("/certificates", data=form)  # warm: keys loaded, first status list made
    timings = {"online": [], "offline": []}
    for _ in range(runs):
        for mode, times in timings.items():
            started = time.perf_counter()
            response = client.post("/certificates", data={**form, "mode": mode})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 303, response.status_code
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    credential = page.split('id="sd-jwt"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    return timings["offline"], timings["online"], credential


def verify_timings(env: dict[str, str], port: int, credential: str, runs: int) -> list[float]:
    """Offline verification in Chromium: the page's own check, timed in the page."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import LAUNCH_ARGS

    server = subprocess.Popen([PYTHON, "-m", "flask", "run", "--port", str(port), "--no-reload"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        base = f"http://{HOST}:{port}"
        _wait(base + "/login")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=find_chromium(), args=LAUNCH_ARGS)
            page = browser.new_context().new_page()
            page.goto(base + "/verify")
            page.wait_for_selector("html[data-verifier-ready=true]", state="attached")
            page.context.set_offline(True)
            timings = page.evaluate("""async ([credential, runs]) => {
                const times = [];
                for (let i = 0; i < runs; i++) {
                    const started = performance.now();
                    const result = await window.creditSelfVerifier.run(credential);
                    times.push(performance.now() - started);
                    if (result.verdict !== "valid") throw new Error(result.verdict);
                }
                return times;
            }""", [credential, runs])
            browser.close()
        return timings
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait(url: str, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=300, help="residents to seed")
    parser.add_argument("--runs", type=int, default=20, help="timed issues and verifications")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        env = seed(Path(directory), args.residents, f"http://{HOST}:{port}")
        issue_ms, online_ms, credential = issue_timings(env, args.runs)
        verify_ms = verify_timings(env, port, credential, args.runs)
    url = "https://credit.example.gov.cn/verify#" + credential
    results = {
        "credential_bytes": len(credential.encode()),
        "qr_url_bytes": len(url.encode()),
        "qr_version": qr_version(url),
        "issue_ms_median": round(statistics.median(issue_ms), 2),
        "online_issue_ms_median": round(statistics.median(online_ms), 2),
        "load_average": round(os.getloadavg()[0], 2),
        "verify_ms_median": round(statistics.median(verify_ms), 2),
        "status_kb_1m_1pct_revoked": round(status_lists_kb(1_000_000, 0.01), 1),
        "status_kb_1m_10pct_revoked": round(status_lists_kb(1_000_000, 0.10), 1),
    }
    checks = {
        "credential_bytes": results["credential_bytes"] <= TARGETS["credential_bytes"],
        "issue_ms": results["issue_ms_median"] <= TARGETS["issue_ms"],
        "verify_ms": results["verify_ms_median"] <= TARGETS["verify_ms"],
        "status_kb": results["status_kb_1m_10pct_revoked"] <= TARGETS["status_kb"],
    }
    lines = ["## Offline credentials", "", "| measure | result | target |", "| --- | --- | --- |",
             f"| default-scope credential | {results['credential_bytes']:,} bytes "
             f"(QR URL {results['qr_url_bytes']:,} bytes: version {results['qr_version']}, "
             f"level L) | ≤ 1,200 bytes |",
             f"| issuing (server time, median of {args.runs}) | {results['issue_ms_median']} ms "
             f"(online, unsigned: {results['online_issue_ms_median']} ms) | ≤ 10 ms |",
             f"| offline verification in Chromium (median of {args.runs}) | "
             f"{results['verify_ms_median']} ms | ≤ 50 ms |",
             f"| status lists for 1,000,000 certificates (1% / 10% revoked) | "
             f"{results['status_kb_1m_1pct_revoked']} / {results['status_kb_1m_10pct_revoked']} KB "
             f"| ≤ 200 KB |"]
    lines.append(f"\nLoad average {results['load_average']} on {os.cpu_count()} CPUs.")
    text = "\n".join(lines) + "\n\n" + ("All within target." if all(checks.values()) else
                                        "Over target: " + ", ".join(k for k, ok in checks.items() if not ok))
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "credentials.md").write_text(text + "\n")
    (args.out / "credentials.json").write_text(json.dumps(
        {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), **results,
         "within_target": checks}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
