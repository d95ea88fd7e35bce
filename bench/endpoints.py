"""What is measured: one row per endpoint (add a row to benchmark a new page), and the
check every endpoint must pass before and after the load.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable

from load import Context
from servers import BenchError
from credit_self import seeding
from credit_self.certificates import store
from credit_self.db import make_engine, write_transaction


@dataclass(frozen=True)
class Endpoint:
    name: str  # the row's label, and what --only matches
    # A path, or a function of the engine's Context that computes one.
    path: str | Callable[[Context], str]
    persona: str | None = None  # signed in as this persona (None: anonymous)
    # The page must contain one of these (a benchmark of an error page or of a redirect
    # to sign-in is worthless).
    expect: Callable[[Context], list[str]] | None = None
    status: int = 200
    # Floor: p99 under this many ms at 1M residents and 16 connections, on each engine.
    p99_floor_ms: float | None = None


def personas() -> dict[str, dict]:
    """Residents from `flask demo-accounts --json`, and the staff demo accounts."""
    accounts = [*seeding.demo_accounts(), *seeding.ADMIN_ACCOUNTS]
    return {account["persona"]: account for account in accounts}


def _masked(number: str) -> str:
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def _print_token(ctx: Context) -> str:
    """A 7-day certificate for persona `clean`, made through the certificates data layer;
    its print token is read from the printable page, as a resident would get it."""
    if "print_token" not in ctx.cache:
        engine = make_engine(ctx.database_url)
        try:
            with engine.connect() as conn, write_transaction(conn):
                certificate = store.create(
                    conn, ctx.persona("clean")["id_number"], "rental", "bench",
                    dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
                    dt.timedelta(days=7))
        finally:
            engine.dispose()
        page = ctx.get(f"/certificates/{certificate['id']}/print", persona="clean")
        found = re.search(r"/v/([A-Za-z0-9_\-.]+)", page.body)
        if page.status != 200 or not found:
            raise BenchError(f"no print token on the certificate page (status {page.status})")
        ctx.cache["print_token"] = found.group(1)
    return ctx.cache["print_token"]


ENDPOINTS: list[Endpoint] = [
    Endpoint("/me", "/me", persona="defaulter", p99_floor_ms=50.0,
             expect=lambda ctx: [_masked(ctx.persona("defaulter")["id_number"]), "Your record"]),
    Endpoint("/login", "/login", expect=lambda ctx: ['name="csrf_token"']),
    Endpoint("/pilots", "/pilots", persona="pilot_member", p99_floor_ms=50.0,
             expect=lambda ctx: ["Your score", "Ledger"]),
    Endpoint("/v/<token>", lambda ctx: "/v/" + _print_token(ctx), p99_floor_ms=25.0,
             expect=lambda ctx: ["Valid: every statement is true as of"]),
    Endpoint("/api/v1/verify/<token>", lambda ctx: "/api/v1/verify/" + _print_token(ctx),
             p99_floor_ms=25.0, expect=lambda ctx: ['"verdict":"valid"']),
]


def check(ctx: Context, endpoint: Endpoint, path: str) -> tuple[int, str | None]:
    """Fetch the page once, as wrk will; (its size in bytes, the problem or None)."""
    reply = ctx.get(path, endpoint.persona)
    if reply.status != endpoint.status:
        where = reply.headers.get("Location") if reply.headers else None
        return 0, (f"answered {reply.status}" + (f" (to {where})" if where else "")
                   + f", not {endpoint.status}")
    wanted = endpoint.expect(ctx) if endpoint.expect else []
    if wanted and not any(w in reply.body for w in wanted):
        return 0, f"page contains none of {wanted!r}"
    return len(reply.body.encode()), None
