"""CPU time per request, in one process, without HTTP: for comparing two versions of
the code on a shared machine, where wrk's figures move with the neighbours' load.

    .venv/bin/python bench/cpu_per_request.py bench/out/residents-1000000-seed-1.db
    git stash; .venv/bin/python bench/cpu_per_request.py ...; git stash pop

It signs in as the demo personas through the app's own sign-in form (Flask's test
client), warms each page up, then reports the process's CPU milliseconds per request
(`time.process_time`), the median of a few rounds. It writes nothing but what the pages
themselves write (sign-ins, scan log and audit rows), so use a copy of a bench database.
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from credit_self import create_app, seeding  # noqa: E402
from credit_self.certificates import store  # noqa: E402
from credit_self.db import engine_for, write_transaction  # noqa: E402

PAGES = {"/me": "defaulter", "/pilots": "pilot_member", "/login": None}


def _signed_in(app, persona: str | None):
    client = app.test_client()
    if persona:
        account = seeding.persona(persona)
        form = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        response = client.post("/login", data={"id_number": account["id_number"],
                                               "password": account["password"],
                                               "csrf_token": token})
        if response.status_code != 303:
            raise SystemExit(f"could not sign in as {persona}: {response.status_code}")
    return client


def _verification_path(app) -> str:
    """A 7-day certificate for persona `clean`, and its print token's verdict page."""
    clean = seeding.persona("clean")
    with app.app_context(), engine_for(app).connect() as conn, write_transaction(conn):
        certificate = store.create(conn, clean["id_number"], "rental", "bench",
                                   dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
                                   dt.timedelta(days=7))
    page = _signed_in(app, "clean").get(f"/certificates/{certificate['id']}/print")
    return re.search(r"/v/[A-Za-z0-9_\-.]+", page.get_data(as_text=True)).group(0)


def measure(client, path: str, requests: int, rounds: int) -> float:
    for _ in range(20):
        status = client.get(path).status_code
    if status != 200:
        raise SystemExit(f"{path} answered {status}")
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(requests):
            client.get(path)
        samples.append((time.process_time() - started) / requests * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", help="a SQLite file or a database URL")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = args.database if "://" in args.database else f"sqlite:///{args.database}"
    app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False,
                      "SECRET_KEY": "cpu-per-request"})
    pages = {path: _signed_in(app, persona) for path, persona in PAGES.items()}
    pages[_verification_path(app)] = app.test_client()
    print("| page | CPU ms per request |\n|---|---:|")
    for path, client in pages.items():
        label = "/v/<token>" if path.startswith("/v/") else path
        print(f"| {label} | {measure(client, path, args.requests, args.rounds):.2f} |")


if __name__ == "__main__":
    main()
