"""The audit log page (/admin/audit, signed in as the demo superadmin) with a short and a
long log, on each engine: does its time stay flat as the log grows?

Each log size has its own database, seeded with AUDIT_RESIDENTS residents (the page
reads only audit_log, so the register's size does not matter), whose log is then filled
to the wanted number of rows with credit_self.audit.record_many, in write transactions of
BATCH events copied from the seeded log's own events. The log is append-only and 4M rows
take minutes to write, so these databases are reused like the bench database
(bench/out/audit-<rows>-rows.db; PostgreSQL database bench_audit_<rows>_rows).
"""
from __future__ import annotations

import http.client
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from databases import Database, prepare
from load import SESSION_COOKIE, USER_AGENT, Context
from servers import BenchError, Server
from credit_self import audit
from credit_self.db import make_engine, rows

AUDIT_RESIDENTS = 10_000
BATCH = 10_000
WARMUP_REQUESTS = 5
PATH = "/admin/audit"
PERSONA = "superadmin"  # demo-superadmin, password credit_self.seeding.DEMO_PASSWORD


def fill_log(url: str, total: int) -> dict[str, Any]:
    """Append events until the log holds `total` rows; how long it took."""
    engine = make_engine(url)
    started = time.monotonic()
    try:
        with engine.connect() as conn:
            have = audit.row_count(conn)
            events = [audit.Event(**row) for row in rows(
                conn, "SELECT actor, action, subject, detail FROM audit_log ORDER BY seq "
                      "LIMIT 1000")]
            print(f"  appending {max(total - have, 0):,} audit events ...", flush=True)
            while have < total:
                size = min(BATCH, total - have)
                audit.record_many(conn, [events[(have + i) % len(events)] for i in range(size)])
                have += size
            if conn.dialect.name == "postgresql":  # statistics for the grown table
                conn.commit()
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "ANALYZE audit_log")
    finally:
        engine.dispose()
    seconds = time.monotonic() - started
    print(f"  log filled to {total:,} rows in {seconds:.0f} s", flush=True)
    return {"fill_seconds": round(seconds, 1)}


def prepare_databases(engine: str, sizes: list[int], out: Path, admin_url: str | None,
                      reseed: bool, seed: int) -> list[Database]:
    return [prepare(engine, f"audit-{size}-rows" if engine == "sqlite"
                    else f"bench_audit_{size}_rows", AUDIT_RESIDENTS, seed, out=out,
                    admin_url=admin_url, reseed=reseed,
                    extra=({"audit_rows": size}, lambda url, size=size: fill_log(url, size)))
            for size in sizes]


def time_requests(base_url: str, cookie: str, count: int) -> list[float]:
    """Milliseconds of `count` sequential GETs of the page on one kept-alive connection."""
    address = urlsplit(base_url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}", "User-Agent": USER_AGENT}
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            conn.request("GET", PATH, headers=headers)
            reply = conn.getresponse()
            reply.read()
            times.append((time.perf_counter() - started) * 1000)
            if reply.status != 200:
                raise BenchError(f"GET {PATH} answered {reply.status} during the timing")
    finally:
        conn.close()
    return times


def measure(database: Database, env: dict[str, str], out: Path,
            personas: dict[str, dict], requests: int) -> dict[str, Any]:
    """Serve the database, check the page, then time `requests` GETs; the median."""
    rows_wanted = database.info["audit_rows"]
    server = Server(f"app-{database.engine}-audit-{rows_wanted}", "app:create_app()",
                    {**env, "CREDIT_SELF_DATABASE_URL": database.url}, out)
    try:
        server.start()
        server.wait_ready("/login")
        ctx = Context(database.engine, server.url, database.url, personas)
        page = ctx.get(PATH, PERSONA)
        if page.status != 200 or "Events, newest first" not in page.body:
            raise BenchError(f"{database.engine}: GET {PATH} as {PERSONA} answered "
                             f"{page.status} without the log's rows")
        cookie = ctx.session_cookie(PERSONA)
        time_requests(server.url, cookie, WARMUP_REQUESTS)
        times = time_requests(server.url, cookie, requests)
    finally:
        server.stop()
    result = {"audit_rows": rows_wanted, "requests": requests,
              "median_ms": statistics.median(times),
              "p90_ms": statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0],
              "database": database.label}
    print(f"  {database.engine} {PATH} with {rows_wanted:,} rows: median "
          f"{result['median_ms']:.1f} ms over {requests} requests", flush=True)
    return result
