"""Throwaway PostgreSQL and Redis servers for `make test` and `make bench`.

Each runs from a fresh temporary directory on a free loopback port and is removed when
the `with` block ends. `initdb` refuses to run as root, so as root the cluster runs as
the `postgres` system user (which Debian's package creates); otherwise as the invoking
user. A missing server program is an error, never a skip: the Makefile installs
Debian's `postgresql` and `redis-server` first when it runs as root.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator


class ServerError(RuntimeError):
    """A server could not be started."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgresql_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise ServerError(f"PostgreSQL's {name} is not installed (Debian: apt-get install postgresql)")


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"{what} exited at start:\n{log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise ServerError(f"{what} did not start within 60 s:\n{log.read_text(errors='replace')[-2000:]}")


@contextlib.contextmanager
def postgresql() -> Iterator[str]:
    """A new PostgreSQL cluster (C locale, UTF-8, no fsync); yields its admin URL."""
    initdb, pg_ctl = _postgresql_bin("initdb"), _postgresql_bin("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="credit-self-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER") or "postgres"
    subprocess.run(
        _as_server_user([initdb, "-D", str(data), "-U", user, "--auth=trust",
                         "--locale=C", "--encoding=UTF8"]),
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port = free_port()
    log = root / "server.log"
    # A throwaway cluster: durability off (fsync), enough connections for the tests
    # and two gunicorn workers at once.
    options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    try:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-l", str(log), "-o", options,
                                        "-w", "-t", "60", "start"]),
                       check=True, stdout=subprocess.DEVNULL)
    except subprocess.CalledProcessError as failed:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise ServerError(f"PostgreSQL did not start:\n{tail}") from failed
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis() -> Iterator[str]:
    """A new Redis server without persistence; yields its URL."""
    program = shutil.which("redis-server")
    if program is None:
        raise ServerError("redis-server is not installed (Debian: apt-get install redis-server)")
    root = Path(tempfile.mkdtemp(prefix="credit-self-redis-"))
    port = free_port()
    log = root / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(root)],
            stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, "Redis", log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)
