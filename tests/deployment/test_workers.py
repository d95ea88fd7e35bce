"""Several gunicorn workers behave as one service: limits are exact across them, a
signed-out session is dead on every worker, a killed worker loses no acknowledged write,
and a slow client stops nobody."""
import os
import signal
import socket
import threading
import time

from sqlalchemy import text

from credit_self import audit
from credit_self.db import make_engine
from tests.conftest import persona
from tests.deployment.conftest import Browser


def _two_servers(serve, redis_url: str, **env: str):
    """Two app servers (as on two machines) on one database and one Redis."""
    return [serve(workers=1, CREDIT_SELF_RATELIMIT_STORAGE=redis_url, **env) for _ in range(2)]


def test_the_verification_limit_is_exact_across_servers(serve, redis_url):
    servers = _two_servers(serve, redis_url, CREDIT_SELF_VERIFY_RATE_LIMIT="10 per minute")
    statuses = [Browser(servers[n % 2].url).request("/api/v1/verify/x").status
                for n in range(25)]
    assert statuses.count(200) == 10 and statuses.count(429) == 15
    assert all(server.pids_that_answered() for server in servers), "both servers answered"


def test_the_sign_in_limit_counts_failures_exactly_across_servers(serve, redis_url):
    servers = _two_servers(serve, redis_url, CREDIT_SELF_LOGIN_RATE_LIMIT="8 per minute")
    visitors = [Browser(server.url) for server in servers]
    tokens = [visitor.csrf_token("/login") for visitor in visitors]
    # One after another: only failures count, so a failure is counted when its answer is
    # known, after the check of any attempt sent at the same moment (docs/deploy.md).
    statuses = [visitors[n % 2].request("/login", {"csrf_token": tokens[n % 2],
                                                   "id_number": f"x{n}", "password": "wrong"}).status
                for n in range(20)]
    assert statuses.count(200) == 8 and statuses.count(429) == 12


def test_several_workers_on_in_memory_limits_are_refused(database_url, tmp_path):
    from tests.deployment.conftest import Gunicorn

    try:
        Gunicorn(database_url, tmp_path / "refused.log", workers=2,
                 CREDIT_SELF_RATELIMIT_STORAGE="memory://")
    except RuntimeError as refused:
        assert "memory://" in str(refused)
    else:
        raise AssertionError("two workers with per-process limits started")


def test_a_signed_out_cookie_opens_nothing_on_any_server(serve, redis_url):
    servers = _two_servers(serve, redis_url)
    resident = Browser(servers[0].url)
    clean = persona("clean")
    resident.sign_in(clean["id_number"], clean["password"])
    stolen = [Browser(server.url) for server in servers]
    for copy in stolen:
        for cookie in resident.cookies:
            copy.cookies.set_cookie(cookie)
        assert copy.request("/me").status == 200
    token = resident.csrf_token("/me")
    assert resident.request("/logout", {"csrf_token": token}).status == 303
    answers = [copy.request("/me") for copy in stolen for _ in range(4)]
    assert all(a.status == 302 and "/login" in a.location for a in answers)


def test_a_killed_worker_loses_no_acknowledged_write(serve, redis_url, database_url):
    """Three residents' browsers issue certificates while one worker is killed with
    SIGKILL: every write the service acknowledged (a 303 to the new certificate) is in
    the database, and the audit chain is whole."""
    server = serve(workers=2, CREDIT_SELF_RATELIMIT_STORAGE=redis_url)
    clean = persona("clean")
    acknowledged: list[str] = []
    started = threading.Barrier(4, timeout=60)  # a writer that fails to start fails the test

    # Signed in one after another: this test is about the writes, not concurrent sign-ins.
    residents = []
    for _writer in range(3):
        resident = Browser(server.url)
        resident.sign_in(clean["id_number"], clean["password"])
        residents.append((resident, resident.csrf_token("/certificates")))

    def issue(writer: int) -> None:
        resident, token = residents[writer]
        started.wait()
        for n in range(20):
            try:
                answer = resident.request("/certificates", {
                    "csrf_token": token, "statements": "no_blacklist", "purpose": "rental",
                    "hours": "24", "mode": "online", "audience": f"writer {writer}, write {n}"})
            except OSError:  # the killed worker's connection: not acknowledged
                continue
            if answer.status == 303:
                acknowledged.append(answer.location.rsplit("/", 1)[1])

    writers = [threading.Thread(target=issue, args=(w,)) for w in range(3)]
    for writer in writers:
        writer.start()
    started.wait()
    time.sleep(0.3)  # writes are under way on both workers
    os.kill(server.worker_pids()[0], signal.SIGKILL)
    for writer in writers:
        writer.join()
    assert len(acknowledged) >= 40
    engine = make_engine(database_url)
    with engine.connect() as conn:
        stored = {row[0] for row in conn.execute(text("SELECT id FROM certificates"))}
        assert set(acknowledged) <= stored
        assert audit.verify(conn).ok
    engine.dispose()


def test_slow_clients_do_not_stop_the_service(serve):
    server = serve(workers=1)
    slow = []
    for _ in range(3):  # each sends half a request and then nothing
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow.append(sock)
    started = time.monotonic()
    answer = Browser(server.url).request("/login")
    assert answer.status == 200 and time.monotonic() - started < 5
    for sock in slow:
        sock.close()
