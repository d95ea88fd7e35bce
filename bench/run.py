#!/usr/bin/env python3
"""`make bench`: the app's pages under wrk on SQLite and PostgreSQL, next to a baseline.

1. Seeds a database per engine (1,000,000 residents by default), reused while complete.
2. Serves each, and bench/baseline.py, with the project's gunicorn.conf.py.
3. Signs in, checks every endpoint answers its page, warms up, then runs rounds of wrk:
   the baseline, then each endpoint on each engine; checks the pages again afterwards.
4. Times the audit log page with a short and a long log on each engine.
5. Prints and saves (bench/out/) a Markdown report and JSON.

Floors are reported, not fatal: the exit status is non-zero only when the numbers cannot
be trusted. See bench/README.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import servers  # first: puts the repository on sys.path
from servers import BENCH, REPO, BenchError, Server

import audit_page
import databases as dbs
import endpoints
import load
import report

ENGINES = ("sqlite", "postgresql")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--residents", type=int, default=1_000_000, help="residents to seed")
    p.add_argument("--seed", type=int, default=1, help="random seed for `flask seed`")
    p.add_argument("--engines", default=",".join(ENGINES), help="comma-separated engines")
    p.add_argument("--reseed", action="store_true", help="rebuild databases even if complete")
    p.add_argument("--postgresql-url", help="admin URL of a PostgreSQL server "
                   "(default: a throwaway server from tests/servers.py)")
    p.add_argument("--redis-url", help="Redis for rate-limit storage (default: throwaway)")
    p.add_argument("--duration", type=float, default=10, help="seconds per measured wrk run (whole seconds, rounded up)")
    p.add_argument("--rounds", type=int, default=3, help="rounds over all endpoints")
    p.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per target (0: none)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (every server)")
    p.add_argument("--server-threads", type=int, default=8,
                   help="gunicorn threads per worker (every server)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="only endpoints whose name contains NAME (repeatable; "
                        "/admin/audit selects the audit page)")
    p.add_argument("--audit-rows", default="40000,4000000",
                   help="audit log sizes for the audit page timing, smallest first")
    p.add_argument("--audit-requests", type=int, default=50, help="timed audit page requests")
    p.add_argument("--no-audit", action="store_true", help="skip the audit page timing")
    p.add_argument("--out", type=Path, default=BENCH / "out", help="results, logs, SQLite files")
    args = p.parse_args(argv)
    args.engines = [e for e in ENGINES if e in args.engines.split(",")]
    if not args.engines:
        p.error(f"--engines takes {', '.join(ENGINES)}")
    args.audit_rows = sorted(int(n) for n in args.audit_rows.split(","))
    if args.duration <= 0 or args.rounds < 1 or args.connections < 1 or len(args.audit_rows) < 2:
        p.error("--duration, --rounds and --connections must be positive; --audit-rows "
                "needs two sizes")
    args.out = args.out.resolve()
    return args


def git_describe() -> str:
    def git(*command: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *command], capture_output=True,
                              text=True, timeout=10).stdout.strip()
    try:
        return (git("rev-parse", "--short", "HEAD") or "unknown") + (
            "+dirty" if git("status", "--porcelain") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def settings_for_the_record(args: argparse.Namespace) -> dict[str, Any]:
    """The options, with paths as text and no credentials from a server URL."""
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    for name in ("postgresql_url", "redis_url"):
        if settings[name]:
            settings[name] = re.sub(r"//[^@/]*@", "//***@", settings[name])
    return settings


def run_load(args: argparse.Namespace, chosen: list, databases: dict, env: dict,
             memory: dict, admin_url: str | None) -> tuple[load.Target, list[list[load.Target]]]:
    """Serve the baseline and each engine's app, check, load, check again."""
    wrk = load.find_wrk()
    base = Server("baseline", "baseline:app", env, args.out, chdir=BENCH)
    apps = {engine: Server(f"app-{engine}", "app:create_app()",
                           {**env, "CREDIT_SELF_DATABASE_URL": db.url}, args.out)
            for engine, db in databases.items()}
    try:
        print(f"Starting gunicorn ({args.workers} workers × {args.server_threads} threads): "
              f"baseline on {base.url}, "
              + ", ".join(f"{e} on {s.url}" for e, s in apps.items()), flush=True)
        for server in [base, *apps.values()]:
            server.start()
        base.wait_ready("/")
        for server in apps.values():
            server.wait_ready("/login")
        probe = load.Client(base.url).request("/")
        if probe.status != 200:
            raise BenchError(f"the baseline answered {probe.status}")
        baseline = load.Target("baseline", None, base.url, "/", None,
                               probe_bytes=len(probe.body.encode()),
                               cpu={"app": base.cpu_seconds})
        # The CPU each engine's servers spend per request, from /proc (not wrk's).
        cpu = {engine: {"app": server.cpu_seconds} for engine, server in apps.items()}
        database_cpu = servers.postgresql_cpu(admin_url) if admin_url else None
        if "postgresql" in cpu and database_cpu:
            cpu["postgresql"]["database server"] = database_cpu
        groups = []
        people = endpoints.personas()
        contexts = {e: load.Context(e, apps[e].url, databases[e].url, people) for e in apps}
        for endpoint in chosen:
            group = []
            for engine, ctx in contexts.items():
                path = endpoint.path(ctx) if callable(endpoint.path) else endpoint.path
                size, problem = endpoints.check(ctx, endpoint, path)
                if problem:
                    raise BenchError(f"{endpoint.name} on {engine}: GET {path} {problem}; "
                                     "not benchmarking an error")
                cookie = ctx.session_cookie(endpoint.persona) if endpoint.persona else None
                group.append(load.Target(endpoint.name, engine, ctx.app_url, path, cookie,
                                         endpoint, probe_bytes=size, cpu=cpu[engine]))
                print(f"  checked {endpoint.name} on {engine}: {size:,} bytes", flush=True)
            groups.append(group)
        load.measure(args, wrk, baseline, groups)
        # Checked again: a session that ended mid-run would have measured a redirect.
        for target in (t for g in groups for t in g):
            _, problem = endpoints.check(contexts[target.engine], target.endpoint, target.path)
            if problem:
                target.problems.append(f"after the load, the page {problem}")
    finally:
        for server in [base, *apps.values()]:
            server.stop()
            memory[server.name] = server.peak_rss_kb
    return baseline, groups


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = [e for e in endpoints.ENDPOINTS
              if not args.only or any(o in e.name for o in args.only)]
    timing_audit = not args.no_audit and (
        not args.only or any(o in audit_page.PATH for o in args.only))
    if not chosen and not timing_audit:
        raise BenchError(f"nothing matches --only {args.only}")
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        print(f"Note: load average {load_before:.2f}: other work is running.", flush=True)
    started = time.monotonic()
    databases: dict[str, dbs.Database] = {}
    memory: dict[str, int] = {}
    audit: dict[str, list[dict]] = {}
    baseline, groups = None, []
    with servers.services(args.postgresql_url, args.redis_url,
                          "postgresql" in args.engines) as (admin_url, redis_url):
        env = servers.server_env(redis_url, args.workers, args.server_threads)
        if chosen:
            for engine in args.engines:
                name = (f"residents-{args.residents}-seed-{args.seed}" if engine == "sqlite"
                        else f"bench_{args.residents}_seed{args.seed}")
                db = dbs.prepare(engine, name, args.residents, args.seed, out=args.out,
                                 admin_url=admin_url, reseed=args.reseed)
                db.info["size_bytes"] = db.size_bytes()
                databases[engine] = db
            baseline, groups = run_load(args, chosen, databases, env, memory, admin_url)
        loaded = time.monotonic()
        if timing_audit:
            print(f"Audit page: {', '.join(f'{n:,}' for n in args.audit_rows)} rows",
                  flush=True)
            for engine in args.engines:
                audit[engine] = [
                    audit_page.measure(db, env, args.out, endpoints.personas(),
                                       args.audit_requests)
                    for db in audit_page.prepare_databases(engine, args.audit_rows, args.out,
                                                           admin_url, args.reseed, args.seed)]
    finished = time.monotonic()

    when = dt.datetime.now()
    header = (f"# Benchmark {when.isoformat(timespec='seconds')}\n\ncommit {git_describe()} · "
              f"{args.residents:,} residents · gunicorn {args.workers} gthread workers × "
              f"{args.server_threads} threads · wrk {args.connections} connections, "
              f"{min(args.threads, args.connections)} threads, {args.rounds} × "
              f"{args.duration:g} s · {os.cpu_count()} CPUs")
    text, data = report.render(header, args, baseline, groups, databases, memory, audit,
                               load_before)
    print("\n" + text)
    data = {"when": when.isoformat(timespec="seconds"), "commit": git_describe(),
            "settings": settings_for_the_record(args),
            "load_average_before": load_before,
            "timings_s": {"databases_and_load": round(loaded - started, 1),
                          "audit_page": round(finished - loaded, 1),
                          "total": round(finished - started, 1)},
            **data}
    for name in (f"bench-{when:%Y%m%d-%H%M%S}", "latest"):
        (args.out / f"{name}.md").write_text(text)
        (args.out / f"{name}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    print(f"Saved {args.out}/latest.md and .json ({finished - started:.0f} s in all)")
    if not report.trustworthy(groups, baseline):
        print("Some results are INVALID (see the notes): the numbers do not describe the "
              "page.", file=sys.stderr)
        return 1
    return 0


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # runs the finally blocks that stop the servers


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    # Ctrl-C must stop the servers even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        sys.exit(main())
    except BenchError as err:
        print(f"bench: error: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped", file=sys.stderr)
        sys.exit(130)
