"""The seeded databases, one per engine: an SQLite file under bench/out/ or a database on
the PostgreSQL server, reused while complete, made with the same settings and at the
current schema (`credit_self.schema.is_current`); the seed's time and peak memory.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from servers import PYTHON, REPO, BenchError, base_env
from sqlalchemy import NullPool, create_engine, text
from sqlalchemy.engine import make_url

from credit_self.db import make_engine, normalised_url, scalar
from credit_self.schema import is_current

# /pilots is measured with score events for about 10% of residents in one pilot.
PILOT_EVENTS = ("--pilot", "shanghai_civic", "--share", "0.11")


@dataclass
class Database:
    """A seeded database: its engine ("sqlite" or "postgresql"), URL and how it was made."""

    engine: str
    url: str
    label: str
    info: dict[str, Any]

    def size_bytes(self) -> int:
        if self.engine == "sqlite":
            path = make_url(self.url).database
            return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal")
                       if Path(f"{path}{s}").exists())
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return scalar(conn, "SELECT pg_database_size(current_database())")
        finally:
            engine.dispose()


def prepare(engine: str, name: str, residents: int, seed: int, *, out: Path,
            admin_url: str | None, reseed: bool,
            extra: tuple[dict[str, Any], Callable[[str], dict[str, Any]]] | None = None,
            ) -> Database:
    """The database `name` seeded with `residents`, reused when its marker says it was
    made with the same settings and its schema is current; else made afresh.

    `extra` is (settings it adds to the marker, a step run on the new database's URL after
    seeding). The marker is written last, so an interrupted run is never reused: for
    SQLite a `<file>.json` next to a file seeded as `.partial` and then renamed; for
    PostgreSQL the database's COMMENT.
    """
    wanted = {"residents": residents, "seed": seed, **(extra[0] if extra else {})}
    store = _SqliteStore(out, name) if engine == "sqlite" else _PostgresStore(admin_url, name)
    marker = None if reseed else store.marker()
    if marker is not None and {k: marker.get(k) for k in wanted} == wanted:
        current = make_engine(store.url)
        try:
            up_to_date = is_current(current)
        finally:
            current.dispose()
        if up_to_date:
            print(f"Reusing {engine} {store.label} (seeded {marker.get('seeded_at')}; "
                  "--reseed to rebuild)", flush=True)
            return Database(engine, store.url, store.label, {**marker, "reused": True})
    print(f"Seeding {residents:,} residents into {engine} {store.label} ...", flush=True)
    url = store.begin()
    info = {**wanted, **seed_database(url, residents, seed)}
    if extra:
        info.update(extra[1](url))
    store.finish(info)
    return Database(engine, store.url, store.label, {**info, "reused": False})


def seed_database(url: str, residents: int, seed: int) -> dict[str, Any]:
    """`flask seed` and `flask seed-pilot-events` into `url`; their time and peak memory."""
    env = {**base_env(), "CREDIT_SELF_DATABASE_URL": url}
    started = time.monotonic()
    peak = 0
    for command in (["seed", "--residents", str(residents), "--seed", str(seed)],
                    ["seed-pilot-events", *PILOT_EVENTS, "--seed", str(seed)]):
        status, max_rss_kb = _run_measured([PYTHON, "-m", "flask", "--app", "app", *command], env)
        if status != 0:
            raise BenchError(f"`flask {command[0]}` failed with exit status {status}")
        peak = max(peak, max_rss_kb)
    seconds = time.monotonic() - started
    print(f"  seeded in {seconds:.0f} s (peak memory {peak / 1024:.0f} MiB)", flush=True)
    return {"seeded_at": dt.datetime.now().isoformat(timespec="seconds"),
            "seed_seconds": round(seconds, 1), "seed_peak_rss_kb": peak}


def _run_measured(command: list[str], env: dict[str, str]) -> tuple[int, int]:
    """Run a command; (exit status, its peak resident memory in KiB). wait4 reports the
    one child's own peak, which RUSAGE_CHILDREN (a maximum over all children) cannot."""
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss


class _SqliteStore:
    def __init__(self, out: Path, name: str) -> None:
        self.path = out / f"{name}.db"
        self.partial = out / f"{name}.db.partial"
        self.marker_path = out / f"{name}.db.json"
        self.url = f"sqlite:///{self.path}"
        self.label = str(self.path.relative_to(REPO) if self.path.is_relative_to(REPO)
                         else self.path)

    def marker(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.marker_path.read_text()) if self.path.exists() else None
        except (OSError, ValueError):
            return None

    def begin(self) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove_sqlite(self.partial)
        return f"sqlite:///{self.partial}"

    def finish(self, info: dict[str, Any]) -> None:
        with contextlib.closing(sqlite3.connect(self.partial)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # one file to rename
        self.marker_path.unlink(missing_ok=True)
        _remove_sqlite(self.path)
        self.partial.rename(self.path)
        _remove_sqlite(self.partial)
        self.marker_path.write_text(json.dumps(info, indent=2) + "\n")


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class _PostgresStore:
    def __init__(self, admin_url: str | None, name: str) -> None:
        if not admin_url:
            raise BenchError("PostgreSQL needs --postgresql-url or a throwaway server")
        self.name = name
        admin_url = normalised_url(admin_url)
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        server = make_url(admin_url)
        self.url = server.set(database=name).render_as_string(hide_password=False)
        self.label = f"database {name} on {server.host}:{server.port}"

    def _run(self, statement: str, **params: Any) -> Any:
        with self.admin.connect() as conn:
            result = conn.execute(text(statement), params)
            return result.scalar() if result.returns_rows else None

    def marker(self) -> dict[str, Any] | None:
        comment = self._run("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                            "WHERE datname = :name", name=self.name)
        try:
            return json.loads(comment) if comment else None
        except ValueError:
            return None

    def begin(self) -> str:
        # The name is made by the bench from numbers, never from input.
        self._run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._run(f'CREATE DATABASE "{self.name}"')
        return self.url

    def finish(self, info: dict[str, Any]) -> None:
        literal = json.dumps(info).replace("'", "''")
        self._run(f"COMMENT ON DATABASE \"{self.name}\" IS '{literal}'")
