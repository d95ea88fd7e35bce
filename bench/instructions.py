"""Instructions per request, counted by Valgrind: a steady yardstick on a noisy machine.

`make bench` measures what matters (requests/s under gunicorn next to a baseline), but on
a shared machine its ratios move by a fifth from run to run. Counting the CPU
instructions one request costs does not depend on what else runs, so a change can be
compared with the one before it in a minute, and the winner then confirmed with
`make bench`. It is a development tool, not a target: instructions are not time (cache
misses, system calls and lock waits do not show).

    python bench/instructions.py                      # every endpoint, bench database
    python bench/instructions.py /me /pilots --requests 50 --db instance/credit_self.db

For each endpoint it runs this file under `valgrind --tool=callgrind` twice, once making
no request and once making N, and divides the difference by N: start-up cancels out.
Requests go straight to the WSGI app (no server, no sockets), signed in as the same
personas as `make bench`, with PYTHONHASHSEED fixed. Needs Valgrind
(`apt-get install valgrind`).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_DB = BENCH / "out" / "residents-1000000-seed-1.db"
# Endpoint -> persona signed in for it (None: anonymous), as in bench/run.py.
ENDPOINTS = {
    "baseline": None,
    "/me": "defaulter",
    "/login": None,
    "/pilots": "pilot_member",
    "/v/<token>": None,
    "/api/v1/verify/<token>": None,
}
USER_AGENT = "credit-self-bench/1 (instructions)"


def _requests(endpoint: str, count: int) -> None:
    """Child mode (under Valgrind): set up, then make `count` requests to `endpoint`."""
    sys.path[:0] = [str(REPO), str(BENCH)]
    from werkzeug.test import EnvironBuilder

    import baseline
    from credit_self import create_app, seeding
    from credit_self.certificates import store
    from credit_self.db import connect, write_transaction

    app = create_app()
    accounts = {a["persona"]: a for a in seeding.demo_accounts()}
    # Under load 64 scans arrive well within the journal's 2-second rule, so a fold comes
    # every 64 scans; under Valgrind (about 50 times slower) the timer would fold every
    # few scans instead, by chance. Folding on the count alone counts what load costs,
    # the same way every run.
    from credit_self.certificates import scan_log

    scan_log.FOLD_AFTER = float("inf")

    def signed_in(persona: str) -> str:
        client = app.test_client()
        login = client.get("/login", headers={"User-Agent": USER_AGENT}).get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
        account = accounts[persona]
        answer = client.post("/login", headers={"User-Agent": USER_AGENT}, data={
            "csrf_token": token, "id_number": account["id_number"],
            "password": account["password"]})
        if answer.status_code != 303:
            raise SystemExit(f"could not sign in as {persona}: {answer.status_code}")
        return client.get_cookie("credit_self_session").value

    path, cookie, target = endpoint, None, app
    if endpoint == "baseline":
        path, target = "/", baseline.app
    elif ENDPOINTS[endpoint]:
        cookie = signed_in(ENDPOINTS[endpoint])
    elif "<token>" in endpoint:
        db = connect(app.config["DATABASE"])
        now = datetime.now(timezone.utc).replace(microsecond=0)
        with write_transaction(db):
            certificate = store.create(db, accounts["clean"]["id_number"], "rental",
                                       "instructions", now, 7)
        client = app.test_client()
        client.set_cookie("credit_self_session", signed_in("clean"))
        page = client.get(f"/certificates/{certificate['id']}/print",
                          headers={"User-Agent": USER_AGENT}).get_data(as_text=True)
        path = endpoint.replace("<token>", re.search(r"/v/([A-Za-z0-9_\-.]+)", page).group(1))

    headers = {"User-Agent": USER_AGENT, "Accept-Language": "en"}
    if cookie:
        headers["Cookie"] = f"credit_self_session={cookie}"
    environ = EnvironBuilder(path=path, headers=headers,
                             environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()

    def call() -> str:
        status: list[str] = []
        b"".join(target(dict(environ), lambda s, h, exc=None: status.append(s)))
        return status[0]

    for _ in range(20):  # warm: templates compiled, connections open, caches filled
        first = call()
    if not first.startswith("200"):
        raise SystemExit(f"{endpoint} answered {first}")
    for _ in range(count):
        call()


def _count(endpoint: str, requests: int, db: Path) -> int:
    # As bench/run.py: a fixed key, and a verification limit the load never reaches.
    env = {**os.environ, "PYTHONHASHSEED": "0", "CREDIT_SELF_DB": str(db),
           "CREDIT_SELF_SECRET_KEY": "instructions-" + "x" * 40,
           "CREDIT_SELF_VERIFY_RATE_LIMIT": "1000000 per minute"}
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, __file__, "--child", endpoint, str(requests)],
        cwd=REPO, env=env, capture_output=True, text=True,
    )
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise SystemExit(f"valgrind failed for {endpoint}:\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _requests(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("endpoints", nargs="*", help=f"some of {', '.join(ENDPOINTS)}")
    parser.add_argument("--requests", type=int, default=100, help="requests counted (default 100)")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB,
                        help="a seeded database (default: the one make bench builds)")
    args = parser.parse_args()
    unknown = [e for e in args.endpoints if e not in ENDPOINTS]
    if unknown or args.requests < 1:
        parser.error(f"unknown endpoint {unknown}" if unknown else "--requests must be positive")
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    if not args.db.exists():
        raise SystemExit(f"{args.db} does not exist: run make bench once, or pass --db")
    chosen = ["baseline"] + [e for e in (args.endpoints or ENDPOINTS) if e != "baseline"]
    per_request = {}
    for endpoint in chosen:
        start = _count(endpoint, 0, args.db)
        per_request[endpoint] = (_count(endpoint, args.requests, args.db) - start) // args.requests
        print(f"{endpoint:26s} {per_request[endpoint]:>11,} instructions/request"
              f"  {per_request[endpoint] / per_request['baseline']:5.1f}x baseline", flush=True)


if __name__ == "__main__":
    main()
