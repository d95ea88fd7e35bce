"""Load and checks: the sign-in client, the run's Context per engine, wrk runs and their
parsing, and the alternating rounds (baseline, then each engine) that measure endpoints.
"""
from __future__ import annotations

import http.cookiejar
import math
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyotp

from servers import BenchError
from credit_self.db import make_engine, rows

SESSION_COOKIE = "credit_self_session"
# Sign-in, checks and wrk all send one User-Agent, as one browser would: the session is
# tied to its address and agent, and a different agent would make every loaded request
# rewrite the session cookie, which no visitor causes.
USER_AGENT = "credit-self-bench/1 (wrk)"


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        raise BenchError("wrk is not installed (Debian: apt-get install wrk)")
    return wrk


# ------------------------------------------------------------------ sign-in and checks


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
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, path: str, data: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base_url + path, data=body,
                                     headers={"User-Agent": USER_AGENT, **(headers or {})})
        try:
            with self.opener.open(req, timeout=30) as resp:
                return Reply(resp.status, resp.headers, resp.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as err:  # 3xx (not followed), 4xx, 5xx
            return Reply(err.code, err.headers, err.read().decode("utf-8", "replace"))

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


def _page_errors(html: str) -> str:
    """The text of a form page's error summary, for the message."""
    block = re.search(r'class="error-summary__list".*?</ul>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", block.group(0)).split())[:300] if block else ""


STAFF_CODE_PATH = "/admin/login/code"


def sign_in(base_url: str, form_path: str, credentials: dict[str, str],
            totp_secret: str | None = None) -> str:
    """GET the sign-in form for its CSRF token, POST the credentials (and, for staff, a
    code made from the account's TOTP secret); the session cookie."""
    client = Client(base_url)
    page = client.request(form_path)
    token = (re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.body)
             or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page.body))
    if page.status != 200 or not token:
        raise BenchError(f"GET {form_path} answered {page.status} without a csrf_token field")
    reply = client.request(form_path, data={"csrf_token": token.group(1), **credentials})
    if totp_secret is not None:
        if reply.status != 303 or not reply.headers.get("Location", "").endswith(STAFF_CODE_PATH):
            raise BenchError(f"the staff password step at {form_path} answered {reply.status}, "
                             f"not 303 to {STAFF_CODE_PATH}: {_page_errors(reply.body)}")
        reply = client.request(STAFF_CODE_PATH, data={
            "csrf_token": token.group(1), "code": pyotp.TOTP(totp_secret).now()})
    cookie = client.cookie(SESSION_COOKIE)
    if reply.status != 303 or not cookie:
        raise BenchError(f"sign-in at {form_path} answered {reply.status}, not 303 with a "
                         f"session cookie: {_page_errors(reply.body)}")
    return cookie


@dataclass
class Context:
    """One engine's running app, as endpoint rows see it: personas, signed-in sessions,
    requests, and read access to its database."""

    engine: str
    app_url: str
    database_url: str
    personas: dict[str, dict[str, Any]]
    cookies: dict[str, str] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)  # e.g. a token made once per run

    def persona(self, name: str) -> dict[str, Any]:
        if name not in self.personas:
            raise BenchError(f"no persona {name!r} (have: {', '.join(sorted(self.personas))})")
        return self.personas[name]

    def session_cookie(self, persona: str) -> str:
        """Sign in once per persona: residents with their ID number, staff (a persona
        with a `login`) at the staff sign-in page with a code from their TOTP secret."""
        if persona not in self.cookies:
            who = self.persona(persona)
            if "login" in who:
                form, credentials = "/admin/login", {"username": who["login"]}
            else:
                form, credentials = "/login", {"id_number": who["id_number"]}
            self.cookies[persona] = sign_in(self.app_url, form,
                                            {**credentials, "password": who["password"]},
                                            who.get("totp_secret"))
        return self.cookies[persona]

    def get(self, path: str, persona: str | None = None) -> Reply:
        headers = ({"Cookie": f"{SESSION_COOKIE}={self.session_cookie(persona)}"}
                   if persona else {})
        return Client(self.app_url).request(path, headers=headers)

    def query(self, statement: str, **params: Any) -> list[dict]:
        """Read the benchmark database (either engine), e.g. to find a token for a path."""
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return rows(conn, statement, **params)
        finally:
            engine.dispose()


# ------------------------------------------------------------------ wrk

_TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def parse_wrk(output: str) -> dict[str, Any]:
    """The numbers of `wrk --latency` output."""
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not found:
        raise BenchError(f"wrk printed no Requests/sec:\n{output}")
    result: dict[str, Any] = {"rps": float(found.group(1))}
    for pct, value, unit in re.findall(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$",
                                       output, re.M):
        result[f"p{pct}_ms"] = float(value) * _TIME_UNITS[unit]
    if "p50_ms" not in result or "p99_ms" not in result:
        raise BenchError(f"wrk printed no latency distribution (--latency):\n{output}")
    found = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)([KMGT]?B) read", output)
    if found:
        result["requests"] = int(found.group(1))
        result["bytes"] = int(float(found.group(2)) * _SIZE_UNITS[found.group(3)])
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                      output)
    result["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                       map(int, found.groups()) if found else (0, 0, 0, 0)))
    found = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx_3xx"] = int(found.group(1)) if found else 0
    return result


def run_wrk(wrk: str, url: str, settings: Any, duration: float,
            cookie: str | None) -> dict[str, Any]:
    # wrk takes whole seconds.
    command = [wrk, f"-t{min(settings.threads, settings.connections)}",
               f"-c{settings.connections}", f"-d{math.ceil(duration)}s", "--latency", "--timeout", "5s",
               "-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command += ["-H", f"Cookie: {SESSION_COOKIE}={cookie}"]
    try:
        proc = subprocess.run([*command, url], capture_output=True, text=True,
                              timeout=math.ceil(duration) + 60, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"wrk did not finish: {' '.join(command)} {url}") from err
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    return {**parse_wrk(proc.stdout), "raw": proc.stdout}


# ------------------------------------------------------------------ measuring


@dataclass
class Target:
    """An endpoint on one engine (or the baseline: endpoint and engine None), resolved."""

    name: str
    engine: str | None
    base_url: str
    path: str
    cookie: str | None
    endpoint: Any = None
    probe_bytes: int = 0
    runs: list[dict[str, Any]] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Readers of CPU seconds used so far: "app" (its gunicorn), "database server".
    cpu: dict[str, Callable[[], float]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.base_url + self.path


def _measured_run(wrk: str, target: Target, settings: Any) -> dict[str, Any]:
    """One wrk run of a target, with the CPU milliseconds its servers spent per request."""
    before = {name: read() for name, read in target.cpu.items()}
    run = run_wrk(wrk, target.url, settings, settings.duration, target.cookie)
    requests = max(run.get("requests", 0), 1)
    run["cpu_ms"] = {name: (read() - before[name]) * 1000 / requests
                     for name, read in target.cpu.items()}
    return run


def measure(settings: Any, wrk: str, baseline: Target, targets: list[list[Target]]) -> None:
    """Warm every target, then rounds of: a baseline run, then the endpoint on each engine
    (the engines' order swapped every round), each ratio taken to that baseline run."""
    if settings.warmup > 0:
        print(f"Warming up ({settings.warmup:g} s each) ...", flush=True)
        for target in [baseline, *(t for group in targets for t in group)]:
            run_wrk(wrk, target.url, settings, settings.warmup, target.cookie)
    runs = sum(1 + len(group) for group in targets) * settings.rounds
    print(f"Measuring: {settings.rounds} round(s), {runs} wrk runs of {settings.duration:g} s "
          f"at {settings.connections} connections (~{runs * settings.duration / 60:.1f} min)",
          flush=True)
    for round_number in range(settings.rounds):
        for group in targets:
            base = _measured_run(wrk, baseline, settings)
            baseline.runs.append(base)
            line = [f"  round {round_number + 1}/{settings.rounds}  baseline "
                    f"{base['rps']:>7,.0f} req/s"]
            for target in group[::-1] if round_number % 2 else group:
                run = _measured_run(wrk, target, settings)
                target.runs.append(run)
                target.ratios.append(run["rps"] / base["rps"] if base["rps"] else 0.0)
                flag = " ⚠ errors" if run["non_2xx_3xx"] or run["socket_errors"]["timeout"] else ""
                line.append(f"{target.name} {target.engine} {run['rps']:,.0f} req/s "
                            f"p99 {run['p99_ms']:.1f} ms ×{target.ratios[-1]:.2f}{flag}")
            print(" | ".join(line), flush=True)
