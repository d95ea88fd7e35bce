#!/usr/bin/env python3
"""`make bench`: load the app's pages with wrk next to a hello-world baseline.

1. Seeds a separate SQLite database (1,000,000 residents by default) under bench/out/,
   reusing it on later runs while it is complete and its schema is current.
2. Serves the app and bench/baseline.py with the same gunicorn command (2 workers each,
   on 127.0.0.1 only).
3. Signs in as a demo persona, checks every endpoint answers the page it should, warms
   each one, then runs rounds of wrk that alternate baseline, endpoint, baseline,
   endpoint, ... so both see the same machine state.
4. Prints a Markdown table (req/s, p50, p99, ratio to baseline, target, result) and saves
   it with the raw numbers as JSON under bench/out/.

Missed targets are reported, not fatal: the exit status is non-zero only when the
benchmark itself could not be trusted (a server did not start, sign-in failed, a page
answered errors). See bench/README.md for how to add an endpoint.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
OUT = BENCH / "out"
HOST = "127.0.0.1"  # benchmark traffic never leaves this machine
# The venv's own interpreter: `-m flask` and `-m gunicorn` run the venv's copies.
PYTHON = sys.executable
SESSION_COOKIE = "credit_self_session"
# Every request (sign-in, checks and wrk's load) sends the same User-Agent, as one
# browser does. Flask-Login's session protection ties a session to its address and
# agent; a different agent under load would mark the session non-fresh and rewrite its
# cookie on every request, which no real visitor triggers.
USER_AGENT = "credit-self-bench/1 (wrk)"
# Baseline runs further apart than this (max-min over median) mean a busy machine.
NOISY_SPREAD = 0.15


class BenchError(Exception):
    """The benchmark cannot produce numbers worth reading; exit non-zero."""


# --------------------------------------------------------------------------------------
# What is measured. One row per endpoint; add a row to benchmark a new page.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    # A path, or a function of the run's Context that computes one (e.g. a token
    # looked up in the database or created through the app).
    path: str | Callable[["Context"], str]
    # Send the persona's session cookie (signed in once, before any load).
    signed_in: bool = False
    persona: str = "defaulter"
    # Targets; None means "report only".
    target_ratio: float | None = None  # at least this fraction of the baseline's req/s
    target_p99_ms: float | None = None  # p99 latency under this many milliseconds
    # The page must contain at least one of these strings (checked before and after the
    # load, so a benchmark of an error page or a redirect to sign-in cannot pass).
    expect: Callable[["Context"], list[str]] | None = None
    status: int = 200


def _mask_id(number: str) -> str:
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


_CERTIFICATE_TOKENS: dict[str, str] = {}


def _certificate_print_token(ctx: "Context") -> str:
    """A 7-day certificate for persona `clean`, created through the certificates data
    layer; its print token (valid for the whole run) is read from the printable page,
    since only the server knows the signing secret."""
    if "print" not in _CERTIFICATE_TOKENS:
        sys.path.insert(0, str(REPO))
        from credit_self.certificates import store
        from credit_self.db import connect, write_transaction

        db = connect(str(ctx.db_path))
        try:
            with write_transaction(db):
                certificate = store.create(
                    db, ctx.persona("clean")["id_number"], "rental", "bench",
                    dt.datetime.now(dt.timezone.utc).replace(microsecond=0), 7,
                )
        finally:
            db.close()
        page = ctx.get(f"/certificates/{certificate['id']}/print", persona="clean")
        found = re.search(r"/v/([A-Za-z0-9_\-.]+)", page.body)
        if page.status != 200 or not found:
            raise BenchError(f"no print token on the certificate page (status {page.status})")
        _CERTIFICATE_TOKENS["print"] = found.group(1)
    return _CERTIFICATE_TOKENS["print"]


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        name="/me",
        path="/me",
        signed_in=True,
        persona="defaulter",
        target_ratio=0.30,
        target_p99_ms=50.0,
        expect=lambda ctx: [_mask_id(ctx.persona("defaulter")["id_number"]), "Your record"],
    ),
    Endpoint(
        name="/login",
        path="/login",
        expect=lambda ctx: ['name="csrf_token"'],
    ),
    Endpoint(
        name="/pilots",
        path="/pilots",
        signed_in=True,
        persona="pilot_member",
        target_ratio=0.30,
        target_p99_ms=50.0,
        expect=lambda ctx: ["Your score", "Ledger"],
    ),
    Endpoint(
        name="/v/<token>",
        path=lambda ctx: "/v/" + _certificate_print_token(ctx),
        target_ratio=0.40,
        target_p99_ms=25.0,
        expect=lambda ctx: ["Valid: no active restrictions as of"],
    ),
    Endpoint(
        name="/api/v1/verify/<token>",
        path=lambda ctx: "/api/v1/verify/" + _certificate_print_token(ctx),
        target_ratio=0.50,
        target_p99_ms=25.0,
        expect=lambda ctx: ['"verdict":"valid"'],
    ),
]


# --------------------------------------------------------------------------------------
# HTTP client for sign-in and checks (standard library only; wrk does the load).
# --------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Reply:
    status: int
    headers: Any
    body: str


class Client:
    """A browser-like client with its own cookie jar that does not follow redirects."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(self, path: str, data: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(
            self.base_url + path, data=body, headers={"User-Agent": USER_AGENT, **(headers or {})}
        )
        try:
            with self.opener.open(req, timeout=15) as resp:
                return Reply(resp.status, resp.headers, resp.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as err:  # 3xx (not followed), 4xx, 5xx
            return Reply(err.code, err.headers, err.read().decode("utf-8", "replace"))

    def cookie(self, name: str) -> str | None:
        for c in self.jar:
            if c.name == name:
                return c.value
        return None


# --------------------------------------------------------------------------------------
# The run's context: what endpoint rows may use to compute paths and expectations.
# --------------------------------------------------------------------------------------


@dataclass
class Context:
    app_url: str
    db_path: Path
    personas: dict[str, dict[str, Any]]
    cookies: dict[str, str] = field(default_factory=dict)

    def persona(self, name: str) -> dict[str, Any]:
        if name not in self.personas:
            raise BenchError(
                f"persona {name!r} not in `flask demo-accounts --json` "
                f"(have: {', '.join(sorted(self.personas)) or 'none'})"
            )
        return self.personas[name]

    def session_cookie(self, persona: str) -> str:
        """Sign in once per persona (one POST /login, well under its rate limit)."""
        if persona not in self.cookies:
            self.cookies[persona] = sign_in(self.app_url, self.persona(persona))
        return self.cookies[persona]

    def get(self, path: str, persona: str | None = None) -> Reply:
        client = Client(self.app_url)
        headers = {"Cookie": f"{SESSION_COOKIE}={self.session_cookie(persona)}"} if persona else {}
        return client.request(path, headers=headers)

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Read the benchmark database (read-only), e.g. to find a token for a path."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


def _page_errors(html: str) -> str:
    """The text of a form page's error summary (or error messages), for the report."""
    block = re.search(r'class="error-summary__list".*?</ul>', html, re.S) or re.search(
        r'class="error-message".*?</p>', html, re.S)
    if not block:
        return ""
    return " ".join(re.sub(r"<[^>]+>", " ", block.group(0).split(">", 1)[1]).split())[:300]


def sign_in(base_url: str, persona: dict[str, Any]) -> str:
    """GET /login for the CSRF token, POST the persona's credentials; return the cookie."""
    client = Client(base_url)
    page = client.request("/login")
    if page.status != 200:
        raise BenchError(f"GET /login answered {page.status}")
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.body) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.body
    )
    if not match:
        raise BenchError("GET /login has no csrf_token field")
    reply = client.request(
        "/login",
        data={
            "csrf_token": match.group(1),
            "id_number": persona["id_number"],
            "password": persona["password"],
        },
    )
    if reply.status != 303:
        raise BenchError(
            f"sign-in as {persona.get('persona')} answered {reply.status}, not 303"
            + (f": {_page_errors(reply.body)}" if _page_errors(reply.body) else "")
        )
    cookie = client.cookie(SESSION_COOKIE)
    if not cookie:
        raise BenchError(f"sign-in set no {SESSION_COOKIE} cookie")
    return cookie


# --------------------------------------------------------------------------------------
# gunicorn servers
# --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn master in its own process group, logging to bench/out/."""

    def __init__(self, name: str, app_spec: str, chdir: Path, env: dict[str, str],
                 args: argparse.Namespace, out: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = out / f"gunicorn-{name}.log"
        self.cmd = [
            PYTHON, "-m", "gunicorn",
            "--workers", str(args.workers),
            "--worker-class", args.worker_class,
            "--bind", f"{HOST}:{self.port}",
            "--chdir", str(chdir),
            "--log-level", "warning",
            app_spec,
        ]
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "w")
        try:
            self.proc = subprocess.Popen(
                self.cmd, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        finally:
            log.close()

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise BenchError(f"{self.name} server exited on start:\n{self.log_tail()}")
            try:
                reply = Client(self.url).request(path)
                if reply.status < 500:
                    return
                last = f"status {reply.status}"
            except OSError as err:
                last = str(err)
            time.sleep(0.2)
        raise BenchError(f"{self.name} server did not answer in {timeout:.0f}s ({last}):\n"
                         f"{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


# --------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------

_TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def _ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS[unit]


def parse_wrk(text: str) -> dict[str, Any]:
    """Pull the numbers out of `wrk --latency` output."""
    result: dict[str, Any] = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not m:
        raise BenchError(f"wrk printed no Requests/sec:\n{text}")
    result["rps"] = float(m.group(1))
    for pct, value, unit in re.findall(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$",
                                       text, re.M):
        result[f"p{pct}_ms"] = _ms(value, unit)
    if "p50_ms" not in result or "p99_ms" not in result:
        raise BenchError(f"wrk printed no latency distribution (--latency):\n{text}")
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)([KMGT]?B) read", text)
    if m:
        result["requests"] = int(m.group(1))
        result["seconds"] = _ms(m.group(2), m.group(3)) / 1000
        result["bytes"] = int(float(m.group(4)) * _SIZE_UNITS[m.group(5)])
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    result["socket_errors"] = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups()))) if m
        else {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    )
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    result["non_2xx_3xx"] = int(m.group(1)) if m else 0
    return result


def run_wrk(wrk: str, url: str, args: argparse.Namespace, duration: float,
            cookie: str | None) -> dict[str, Any]:
    cmd = [
        wrk, f"-t{min(args.threads, args.connections)}", f"-c{args.connections}",
        f"-d{duration:g}s", "--latency", "--timeout", "5s", "-H", f"User-Agent: {USER_AGENT}",
    ]
    if cookie:
        cmd += ["-H", f"Cookie: {SESSION_COOKIE}={cookie}"]
    cmd.append(url)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"wrk did not finish: {' '.join(cmd[:-1])} {url}") from err
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    result = parse_wrk(proc.stdout)
    result["raw"] = proc.stdout
    return result


# --------------------------------------------------------------------------------------
# The benchmark database
# --------------------------------------------------------------------------------------


def flask_cmd(*args: str) -> list[str]:
    return [PYTHON, "-m", "flask", "--app", "app", *args]


def _schema(path: Path) -> set[tuple[str, str, str]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            (t, n, s or "")
            for t, n, s in conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            )
        }
    finally:
        conn.close()


def _schema_is_current(db: Path, env: dict[str, str]) -> str | None:
    """None when the database has every table/index a fresh migration creates, else why not."""
    with tempfile.TemporaryDirectory(prefix="bench-schema-") as tmp:
        fresh = Path(tmp) / "fresh.db"
        proc = subprocess.run(
            flask_cmd("init-db"), cwd=REPO, env={**env, "CREDIT_SELF_DB": str(fresh)},
            capture_output=True, text=True, timeout=120,
        )
        if proc.returncode != 0 or not fresh.exists():
            print(f"  (could not build a fresh schema to compare: {proc.stderr.strip()[-300:]})")
            return None
        missing = _schema(fresh) - _schema(db)
    if missing:
        names = ", ".join(sorted(f"{t} {n}" for t, n, _ in missing)[:5])
        return f"schema differs from the current migrations ({names})"
    return None


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    # Certificate scans not yet folded belong to the database being removed.
    shutil.rmtree(f"{path}.scan-journal", ignore_errors=True)


def _count_residents(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM residents").fetchone()[0]
    finally:
        conn.close()


def ensure_database(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Reuse the seeded database if complete and current; otherwise seed it afresh.

    Seeding writes to `<db>.partial` and renames it only after the seed command
    succeeded and the resident count checked out, so an interrupted seed is never
    mistaken for a complete one. `<db>.json` records how it was made.
    """
    db: Path = args.db
    marker = Path(f"{db}.json")
    db.parent.mkdir(parents=True, exist_ok=True)
    reason = "--reseed given" if args.reseed else None
    if reason is None:
        if not db.exists() or not marker.exists():
            reason = "no complete database yet"
        else:
            try:
                info = json.loads(marker.read_text())
            except (OSError, ValueError):
                info = {}
            if info.get("residents") != args.residents or info.get("seed") != args.seed:
                reason = "it was seeded with other settings"
            else:
                reason = _schema_is_current(db, env)
                if reason is None:
                    print(f"Reusing {db.relative_to(REPO) if db.is_relative_to(REPO) else db} "
                          f"({info['residents']:,} residents, seeded {info.get('seeded_at')}; "
                          "--reseed to rebuild)")
                    return {**info, "reused": True}
    print(f"Seeding {args.residents:,} residents into {db} ({reason}) ...", flush=True)
    partial = Path(f"{db}.partial")
    _remove_db(partial)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            flask_cmd("seed", "--residents", str(args.residents), "--seed", str(args.seed)),
            cwd=REPO, env={**env, "CREDIT_SELF_DB": str(partial)},
            timeout=args.seed_timeout, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as err:
        _remove_db(partial)
        raise BenchError(f"seeding took longer than {args.seed_timeout}s") from err
    if proc.returncode != 0:
        _remove_db(partial)
        raise BenchError(f"`flask seed` failed with exit status {proc.returncode}")
    # /pilots is measured with score events for about 10% of residents in one pilot
    # (adults of the Shanghai region enrolled in the simulated Shanghai pilot).
    proc = subprocess.run(
        flask_cmd("seed-pilot-events", "--pilot", "shanghai_civic", "--share", "0.11",
                  "--seed", str(args.seed)),
        cwd=REPO, env={**env, "CREDIT_SELF_DB": str(partial)},
        timeout=args.seed_timeout, stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        _remove_db(partial)
        raise BenchError(f"`flask seed-pilot-events` failed with exit status {proc.returncode}")
    seconds = time.monotonic() - started
    conn = sqlite3.connect(partial)
    try:  # fold the WAL into the main file so the database is one file to rename
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    count = _count_residents(partial)
    if count < args.residents:
        _remove_db(partial)
        raise BenchError(f"seeded {count:,} residents, expected {args.residents:,}")
    _remove_db(db)
    marker.unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{partial}{suffix}")
        if src.exists():
            src.rename(f"{db}{suffix}")
    info = {
        "residents": args.residents,
        "seed": args.seed,
        "count": count,
        "seeded_at": dt.datetime.now().isoformat(timespec="seconds"),
        "seed_seconds": round(seconds, 1),
    }
    marker.write_text(json.dumps(info, indent=2) + "\n")
    print(f"Seeded {count:,} residents in {seconds:.0f}s")
    return {**info, "reused": False}


def load_personas(db: Path, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    proc = subprocess.run(
        flask_cmd("demo-accounts", "--json"), cwd=REPO, env={**env, "CREDIT_SELF_DB": str(db)},
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise BenchError(f"`flask demo-accounts --json` failed: {proc.stderr.strip()[-500:]}")
    start = proc.stdout.find("[")
    try:
        accounts = json.loads(proc.stdout[start:]) if start >= 0 else None
    except ValueError:
        accounts = None
    if not isinstance(accounts, list):
        raise BenchError(f"`flask demo-accounts --json` printed no JSON list:\n{proc.stdout[:500]}")
    return {a["persona"]: a for a in accounts if isinstance(a, dict) and "persona" in a}


# --------------------------------------------------------------------------------------
# Measuring and reporting
# --------------------------------------------------------------------------------------


@dataclass
class Target:
    """An endpoint (or the baseline) resolved for this run."""
    name: str
    base_url: str
    path: str
    cookie: str | None
    endpoint: Endpoint | None  # None for the baseline
    probe_bytes: int = 0
    runs: list[dict[str, Any]] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.base_url + self.path


def check_endpoint(ctx: Context, ep: Endpoint, path: str) -> tuple[int, str | None]:
    """Fetch the page once as wrk will; return (bytes, problem or None)."""
    reply = ctx.get(path, ep.persona if ep.signed_in else None)
    if reply.status != ep.status:
        where = reply.headers.get("Location") if reply.headers else None
        return 0, f"answered {reply.status}" + (f" (to {where})" if where else "") + \
            f", not {ep.status}"
    wanted = ep.expect(ctx) if ep.expect else []
    if wanted and not any(w in reply.body for w in wanted):
        return 0, f"page contains none of {wanted!r}"
    return len(reply.body.encode()), None


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(target: Target) -> dict[str, Any]:
    runs = target.runs
    requests = sum(r.get("requests", 0) for r in runs)
    sock = {k: sum(r["socket_errors"][k] for r in runs)
            for k in ("connect", "read", "write", "timeout")}
    non2xx = sum(r["non_2xx_3xx"] for r in runs)
    bytes_per_request = (sum(r.get("bytes", 0) for r in runs) / requests) if requests else 0
    return {
        "rps": median([r["rps"] for r in runs]),
        "p50_ms": median([r["p50_ms"] for r in runs]),
        "p99_ms": median([r["p99_ms"] for r in runs]),
        "ratio": median(target.ratios) if target.ratios else None,
        "requests": requests,
        "non_2xx_3xx": non2xx,
        "socket_errors": sock,
        "bytes_per_request": round(bytes_per_request),
    }


def verdict(target: Target, s: dict[str, Any]) -> tuple[str, str]:
    """(target text, result text) for the table."""
    ep = target.endpoint
    if ep is None:
        return "—", "baseline"
    if s["non_2xx_3xx"]:
        target.problems.append(f"{s['non_2xx_3xx']:,} non-2xx/3xx responses of {s['requests']:,}")
    if s["socket_errors"]["timeout"]:
        target.problems.append(f"{s['socket_errors']['timeout']:,} requests timed out "
                               "(wrk leaves them out of the latencies)")
    other = sum(v for k, v in s["socket_errors"].items() if k != "timeout")
    if other and other >= 0.01 * max(s["requests"], 1):
        target.problems.append(f"socket errors {s['socket_errors']}")
    if target.probe_bytes and s["bytes_per_request"] < 0.5 * target.probe_bytes:
        target.problems.append(
            f"wrk read {s['bytes_per_request']:,} bytes a response, the checked page has "
            f"{target.probe_bytes:,}: the load did not get that page")
    parts = []
    if ep.target_ratio is not None:
        parts.append(f"≥ {ep.target_ratio:.2f}×")
    if ep.target_p99_ms is not None:
        parts.append(f"p99 < {ep.target_p99_ms:g} ms")
    target_text = ", ".join(parts) or "—"
    if target.problems:
        return target_text, "INVALID"
    missed = []
    if ep.target_ratio is not None and (s["ratio"] is None or s["ratio"] < ep.target_ratio):
        missed.append(f"ratio {s['ratio']:.2f} < {ep.target_ratio:.2f}")
    if ep.target_p99_ms is not None and not s["p99_ms"] < ep.target_p99_ms:
        missed.append(f"p99 {s['p99_ms']:.1f} ms ≥ {ep.target_p99_ms:g} ms")
    if missed:
        return target_text, "**MISSED** (" + "; ".join(missed) + ")"
    return target_text, "pass" if parts else "—"


def fmt_ms(v: float) -> str:
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def render_table(rows: list[tuple[Target, dict[str, Any], str, str]]) -> str:
    lines = [
        "| endpoint | req/s | p50 ms | p99 ms | ratio to baseline | target | result |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for target, s, target_text, result in rows:
        ratio = "1.00" if target.endpoint is None else (
            f"{s['ratio']:.2f}" if s["ratio"] is not None else "—")
        lines.append(
            f"| {target.name} | {s['rps']:,.0f} | {fmt_ms(s['p50_ms'])} | "
            f"{fmt_ms(s['p99_ms'])} | {ratio} | {target_text} | {result} |"
        )
    return "\n".join(lines)


def git_describe() -> str:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (head or "unknown") + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def measure(args: argparse.Namespace, wrk: str, baseline: Target,
            targets: list[Target]) -> None:
    if args.warmup > 0:
        print(f"Warming up ({args.warmup:g}s each) ...", flush=True)
        for t in [baseline, *targets]:
            run_wrk(wrk, t.url, args, args.warmup, t.cookie)
    total = args.rounds * len(targets) * 2 * args.duration
    print(f"Measuring: {args.rounds} round(s) × {len(targets)} endpoint(s), each next to a "
          f"baseline run, {args.duration:g}s at {args.connections} connections "
          f"(~{total / 60:.1f} min)", flush=True)
    for rnd in range(1, args.rounds + 1):
        for t in targets:
            base = run_wrk(wrk, baseline.url, args, args.duration, None)
            baseline.runs.append(base)
            run = run_wrk(wrk, t.url, args, args.duration, t.cookie)
            t.runs.append(run)
            t.ratios.append(run["rps"] / base["rps"] if base["rps"] else 0.0)
            flag = ""
            if run["non_2xx_3xx"] or run["socket_errors"]["timeout"]:
                flag = (f"  ⚠ {run['non_2xx_3xx']} non-2xx/3xx, "
                        f"{run['socket_errors']['timeout']} timeouts")
            print(f"  round {rnd}/{args.rounds}  baseline {base['rps']:>8,.0f} req/s "
                  f"p99 {fmt_ms(base['p99_ms']):>6} ms | {t.name:<12} {run['rps']:>8,.0f} "
                  f"req/s p99 {fmt_ms(run['p99_ms']):>6} ms  ratio {t.ratios[-1]:.2f}{flag}",
                  flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--residents", type=int, default=1_000_000, help="residents to seed")
    p.add_argument("--seed", type=int, default=1, help="random seed for `flask seed`")
    p.add_argument("--db", type=Path, default=None,
                   help="database file (default bench/out/residents-N-seed-S.db)")
    p.add_argument("--reseed", action="store_true", help="rebuild the database even if complete")
    p.add_argument("--seed-timeout", type=float, default=1800, help="seconds allowed to seed")
    p.add_argument("--duration", type=float, default=10, help="seconds per measured wrk run")
    p.add_argument("--rounds", type=int, default=3, help="rounds over all endpoints")
    p.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per endpoint")
    p.add_argument("--connections", type=int, default=16, help="wrk connections")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (both servers)")
    p.add_argument("--worker-class", default="sync", help="gunicorn worker class (both servers)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="benchmark only endpoints whose name contains NAME (repeatable)")
    p.add_argument("--out", type=Path, default=OUT, help="where results and logs go")
    args = p.parse_args(argv)
    if args.db is None:
        args.db = OUT / f"residents-{args.residents}-seed-{args.seed}.db"
    args.db = args.db.resolve()
    if args.duration <= 0 or args.rounds < 1 or args.connections < 1 or args.threads < 1:
        p.error("--duration, --rounds, --connections and --threads must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if not wrk:
        raise BenchError("wrk is not installed (Debian: apt-get install wrk)")
    endpoints = [e for e in ENDPOINTS
                 if not args.only or any(o in e.name for o in args.only)]
    if not endpoints:
        raise BenchError(f"no endpoint matches {args.only}")
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # A fixed key for this run so both workers sign and accept the same cookies, and so
    # nothing is written to instance/.
    # The verification rate limit (60/minute per address) would turn the load into 429s.
    env = {**os.environ, "CREDIT_SELF_SECRET_KEY": secrets.token_hex(32),
           "FLASK_APP": "app", "PYTHONUNBUFFERED": "1",
           "CREDIT_SELF_VERIFY_RATE_LIMIT": "1000000 per minute"}
    env.pop("FLASK_DEBUG", None)
    load_before = os.getloadavg()
    if load_before[0] > 0.5:
        print(f"Note: load average {load_before[0]:.2f}: other work is running, so the "
              "numbers will be lower and noisier than on an idle machine.")
    db_info = ensure_database(args, env)
    seeded = time.monotonic()
    personas = load_personas(args.db, env)

    app_env = {**env, "CREDIT_SELF_DB": str(args.db)}
    app = Server("app", "app:create_app()", REPO, app_env, args, args.out)
    base = Server("baseline", "baseline:app", BENCH, env, args, args.out)
    try:
        print(f"Starting gunicorn ({args.workers} workers, {args.worker_class}): "
              f"app on {app.url}, baseline on {base.url}", flush=True)
        app.start()
        base.start()
        app.wait_ready("/login")
        base.wait_ready("/")

        ctx = Context(app.url, args.db, personas)
        baseline = Target("baseline (hello world)", base.url, "/", None, None)
        probe = Client(base.url).request("/")
        if probe.status != 200:
            raise BenchError(f"baseline answered {probe.status}")
        baseline.probe_bytes = len(probe.body.encode())
        targets = []
        for ep in endpoints:
            path = ep.path(ctx) if callable(ep.path) else ep.path
            cookie = ctx.session_cookie(ep.persona) if ep.signed_in else None
            size, problem = check_endpoint(ctx, ep, path)
            if problem:
                raise BenchError(f"{ep.name}: GET {path} {problem}; not benchmarking an error")
            targets.append(Target(ep.name, app.url, path, cookie, ep, probe_bytes=size))
            print(f"  checked {ep.name}: GET {path} → {ep.status}, {size:,} bytes"
                  + (f", signed in as {ep.persona}" if ep.signed_in else ""))
        ready = time.monotonic()

        measure(args, wrk, baseline, targets)

        # The same checks after the load: a session that expired mid-run would have
        # turned the numbers into those of a redirect.
        for t in targets:
            _, problem = check_endpoint(ctx, t.endpoint, t.path)
            if problem:
                t.problems.append(f"after the load, the page {problem}")
    finally:
        app.stop()
        base.stop()
    finished = time.monotonic()

    rows = []
    for t in [baseline, *targets]:
        s = summarise(t)
        target_text, result = verdict(t, s)
        rows.append((t, s, target_text, result))
    table = render_table(rows)
    when = dt.datetime.now()
    header = (
        f"Benchmark {when.isoformat(timespec='seconds')} · commit {git_describe()} · "
        f"{db_info.get('count', args.residents):,} residents · gunicorn {args.workers} "
        f"{args.worker_class} workers · wrk {args.connections} connections, "
        f"{min(args.threads, args.connections)} threads, {args.rounds} × {args.duration:g}s · "
        f"{os.cpu_count()} CPUs"
    )
    notes = []
    for t, s, _, result in rows:
        for problem in t.problems:
            notes.append(f"- **{t.name}**: {problem}")
        if t.endpoint is not None and result.startswith("**MISSED"):
            notes.append(f"- **{t.name}** MISSED its target: {result[11:].strip('() ')}")
    base_rps = [r["rps"] for r in baseline.runs]
    if len(base_rps) > 1:
        spread = (max(base_rps) - min(base_rps)) / median(base_rps)
        if spread > NOISY_SPREAD:
            notes.append(
                f"- ⚠ The baseline's req/s varied by {spread:.0%} between runs "
                f"({min(base_rps):,.0f}–{max(base_rps):,.0f}): something else was using the "
                "CPU. The ratios compensate in part; run again on an idle machine to be sure."
            )
    if load_before[0] > 0.5:
        notes.append(f"- ⚠ Load average before the run was {load_before[0]:.2f} (1 min): "
                     "other work was running on this machine.")
    for t in targets:
        if len(t.runs) > 1:
            notes.append(f"- {t.name}: req/s per round "
                         + ", ".join(f"{r['rps']:,.0f}" for r in t.runs)
                         + "; ratio per round " + ", ".join(f"{x:.2f}" for x in t.ratios))
    notes.append(
        "- req/s, p50 and p99 are medians over the rounds; the ratio is the median of each "
        "round's endpoint req/s over the baseline run just before it."
    )
    report = f"{header}\n\n{table}\n\n" + "\n".join(notes) + "\n"
    print()
    print(report)
    timings = {
        "seed_or_reuse_s": round(seeded - started, 1),
        "startup_and_checks_s": round(ready - seeded, 1),
        "load_s": round(finished - ready, 1),
        "total_s": round(finished - started, 1),
    }
    print(f"Timings: {timings}")

    stamp = when.strftime("%Y%m%d-%H%M%S")
    data = {
        "when": when.isoformat(timespec="seconds"),
        "commit": git_describe(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "database": db_info,
        "load_average_before": load_before,
        "timings": timings,
        "results": [
            {
                "name": t.name,
                "path": t.path,
                "baseline": t.endpoint is None,
                "target_ratio": t.endpoint.target_ratio if t.endpoint else None,
                "target_p99_ms": t.endpoint.target_p99_ms if t.endpoint else None,
                "result": result,
                "problems": t.problems,
                **s,
                "runs": [{k: v for k, v in r.items() if k != "raw"} for r in t.runs],
                "ratios": t.ratios,
            }
            for t, s, _, result in rows
        ],
        "raw_wrk": {t.name: [r["raw"] for r in t.runs] for t, *_ in rows},
    }
    for name in (f"bench-{stamp}", "latest"):
        (args.out / f"{name}.md").write_text(report)
        (args.out / f"{name}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    print(f"Saved {args.out / f'bench-{stamp}.md'} and .json")
    if any(t.problems for t, *_ in rows):
        print("Some results are INVALID (see above): the numbers do not describe the page.",
              file=sys.stderr)
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
