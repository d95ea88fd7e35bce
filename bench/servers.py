"""Servers for the benchmark: PostgreSQL and Redis (given by URL, or throwaway ones from
tests/servers.py), and gunicorn servers started with the project's gunicorn.conf.py whose
memory is sampled while they run; and the CPU time their processes (and a PostgreSQL
server's on this machine) have used, read from /proc before and after each wrk run.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
HOST = "127.0.0.1"  # benchmark traffic never leaves this machine
PYTHON = sys.executable  # the venv's interpreter: `-m flask` and `-m gunicorn` are its copies
# Loopback only, so a fixed key is harmless; every worker signs and accepts the same cookies.
SECRET_KEY = "credit-self-bench-" + "0" * 46
UNLIMITED = "1000000 per minute"  # rate limits wrk never reaches
# After bench/ itself, so `import servers` stays this file and tests/servers.py is
# `tests.servers`.
if str(REPO) not in sys.path:
    sys.path.insert(1, str(REPO))


class BenchError(Exception):
    """The benchmark cannot produce numbers worth reading; exit non-zero."""


def base_env() -> dict[str, str]:
    env = {**os.environ, "FLASK_APP": "app", "PYTHONUNBUFFERED": "1",
           "CREDIT_SELF_SECRET_KEY": SECRET_KEY}
    for name in ("FLASK_DEBUG", "CREDIT_SELF_DB", "CREDIT_SELF_DATABASE_URL"):
        env.pop(name, None)
    return env


def server_env(redis_url: str, workers: int, threads: int) -> dict[str, str]:
    """What every gunicorn of the run gets (the baseline too, so both are served alike):
    shared rate-limit storage, as gunicorn.conf.py requires for several workers, with
    limits so high that wrk never meets them."""
    return {**base_env(), "WEB_CONCURRENCY": str(workers), "CREDIT_SELF_THREADS": str(threads),
            "CREDIT_SELF_RATELIMIT_STORAGE": redis_url,
            "CREDIT_SELF_VERIFY_RATE_LIMIT": UNLIMITED, "CREDIT_SELF_LOGIN_RATE_LIMIT": UNLIMITED}


@contextlib.contextmanager
def services(postgresql_url: str | None, redis_url: str | None,
             need_postgresql: bool) -> Iterator[tuple[str | None, str]]:
    """(PostgreSQL admin URL or None, Redis URL): the given ones, else throwaway servers."""
    from tests import servers as throwaway

    with contextlib.ExitStack() as stack:
        if need_postgresql and not postgresql_url:
            print("Starting a throwaway PostgreSQL server (tests/servers.py) ...", flush=True)
            postgresql_url = stack.enter_context(throwaway.postgresql())
        if not redis_url:
            redis_url = stack.enter_context(throwaway.redis())
        yield (postgresql_url if need_postgresql else None), redis_url


# ------------------------------------------------------------------ gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """One gunicorn master (project config) in its own process group; its peak memory
    (the sum of resident memory over the group) is sampled every half second."""

    name: str
    app_spec: str
    env: dict[str, str]
    out: Path
    chdir: Path | None = None
    port: int = field(default_factory=free_port)
    peak_rss_kb: int = 0
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.out / f"gunicorn-{self.name}.log"

    def start(self) -> None:
        command = [PYTHON, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"),
                   *(["--chdir", str(self.chdir)] if self.chdir else []), self.app_spec]
        env = {**self.env, "CREDIT_SELF_BIND": f"{HOST}:{self.port}"}
        # The access log (stdout) is written as in a deployment, then dropped; errors kept.
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=log,
                                         start_new_session=True)
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while self.proc is not None and self.proc.poll() is None:
            self.peak_rss_kb = max(self.peak_rss_kb, group_rss_kb(self.proc.pid))
            time.sleep(0.5)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the master and its workers (every thread)."""
        return group_cpu_seconds(self.proc.pid) if self.proc is not None else 0.0

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise BenchError(f"{self.name} server exited on start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=10):
                    return
            except urllib.error.HTTPError as err:
                if err.code < 500:
                    return
                last = f"status {err.code}"
            except OSError as err:
                last = str(err)
            time.sleep(0.2)
        raise BenchError(f"{self.name} server did not answer in {timeout:.0f} s ({last}):\n"
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
                self.proc.wait(timeout=wait)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue


def _stat_fields(pid: int | str) -> list[str]:
    """/proc/<pid>/stat after the command name: state is [0], ppid [1], pgrp [2], utime
    [11], stime [12] (proc(5), fields 3 on)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def _processes() -> Iterator[tuple[str, list[str]]]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                yield entry.name, _stat_fields(entry.name)
            except (OSError, IndexError):  # exited meanwhile
                continue


def _cpu_seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """User and system CPU time (s) summed over the live processes of one process group."""
    return sum(_cpu_seconds(f) for _, f in _processes() if int(f[2]) == pgid)


def postgresql_cpu(admin_url: str) -> Callable[[], float] | None:
    """A reader of the CPU time (s) of a PostgreSQL server's processes (the postmaster and
    its children: backends, autovacuum, writers), or None when the server is not on this
    machine or its files cannot be read."""
    from credit_self.db import make_engine  # after sys.path has the repository

    engine = make_engine(admin_url)
    try:
        with engine.connect() as conn:
            data_directory = conn.execute(text("SHOW data_directory")).scalar()
        with open(Path(data_directory) / "postmaster.pid") as pid_file:
            postmaster = int(pid_file.readline())
        with open(f"/proc/{postmaster}/comm") as comm:
            if not comm.read().startswith("postgres"):
                return None  # that number is some other process here
    except (OSError, ValueError, IndexError, SQLAlchemyError):  # elsewhere, or not ours to read
        return None
    finally:
        engine.dispose()

    def read() -> float:
        return sum(_cpu_seconds(f) for pid, f in _processes()
                   if int(pid) == postmaster or int(f[1]) == postmaster)
    return read


def group_rss_kb(pgid: int) -> int:
    """Resident memory (KiB) summed over the processes of one process group."""
    total = 0
    for pid, fields in _processes():
        if int(fields[2]) != pgid:
            continue
        try:
            with open(f"/proc/{pid}/status") as status:
                total += next(int(line.split()[1]) for line in status
                              if line.startswith("VmRSS:"))
        except (OSError, ValueError, IndexError, StopIteration):
            continue
    return total
