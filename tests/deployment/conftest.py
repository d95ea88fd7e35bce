"""Real gunicorn servers with several workers, on the test run's engine, with Redis for
the shared rate limits: what a deployment runs, checked from the outside over HTTP."""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from credit_self.config import PROJECT_ROOT
from tests.servers import free_port

REDIS_URL = os.environ.get("CREDIT_SELF_TEST_REDIS_URL")


@pytest.fixture
def redis_url() -> str:
    assert REDIS_URL, "Redis is needed: run `make test`, or set CREDIT_SELF_TEST_REDIS_URL"
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()  # counters of an earlier test never count against this one
    client.close()
    return REDIS_URL


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py 'app:create_app()'` in its own process group."""

    def __init__(self, database_url: str, log: Path, workers: int = 2, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.log = log.open("w")
        environment = dict(
            os.environ, CREDIT_SELF_DATABASE_URL=database_url,
            CREDIT_SELF_SECRET_KEY="deployment-test-secret", WEB_CONCURRENCY=str(workers),
            CREDIT_SELF_BIND=f"127.0.0.1:{self.port}", **env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
            cwd=PROJECT_ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 30
        while len(self.worker_pids()) < workers or not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(self.url + "/login", timeout=2).read()
            return True
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                               text=True).stdout.split()
        return [int(pid) for pid in found]

    def pids_that_answered(self) -> set[int]:
        """Worker pids in the access log (gunicorn.conf.py logs each request's pid)."""
        self.log.flush()
        return {int(m) for m in re.findall(r"^\S+ <(\d+)> \"", self.log_path.read_text(), re.M)}

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@pytest.fixture
def serve(database_url, tmp_path):
    """Start gunicorn on this test's database: `serve(workers=2, **environment)`."""
    started: list[Gunicorn] = []
    # The test's own rate-limit counters, shared by its servers: tests share one Redis and
    # one client address, and one test's spent limits must not refuse the next one.
    env_for_test = {"CREDIT_SELF_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}"}

    def start(workers: int = 2, **env: str) -> Gunicorn:
        server = Gunicorn(database_url, tmp_path / f"gunicorn-{len(started)}.log", workers,
                          **{**env_for_test, **env})
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@dataclass
class Answer:
    status: int
    body: str
    location: str | None


class Browser:
    """One visitor: a cookie jar, no redirects followed, a new connection per request
    (so gunicorn hands requests to any worker)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()

        class NoRedirects(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirects)

    def request(self, path: str, data: dict | None = None) -> Answer:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base_url + path, data=body, timeout=15) as response:
                return Answer(response.status, response.read().decode(), None)
        except urllib.error.HTTPError as answer:
            return Answer(answer.code, answer.read().decode(errors="replace"),
                          answer.headers.get("Location"))

    def csrf_token(self, path: str) -> str:
        page = self.request(path).body
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def sign_in(self, id_number: str, password: str) -> None:
        token = self.csrf_token("/login")
        answer = self.request("/login", {"csrf_token": token, "id_number": id_number,
                                         "password": password})
        assert answer.status == 303, answer.body[:500]
