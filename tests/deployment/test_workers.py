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


def _statuses(server, paths) -> list[int]:
    return [Browser(server.url).request(path).status for path in paths]


def test_the_verification_limit_is_exact_across_two_workers(serve, redis_url):
    server = serve(workers=2, CREDIT_SELF_RATELIMIT_STORAGE=redis_url,
                   CREDIT_SELF_VERIFY_RATE_LIMIT="10 per minute")
    statuses = _statuses(server, ["/api/v1/verify/not-a-token"] * 25)
    assert statuses.count(200) == 10 and statuses.count(429) == 15
    assert len(server.pids_that_answered()) == 2, "both workers answered"


def test_the_sign_in_limit_counts_failures_exactly_across_two_workers(serve, redis_url):
    server = serve(workers=2, CREDIT_SELF_RATELIMIT_STORAGE=redis_url,
                   CREDIT_SELF_LOGIN_RATE_LIMIT="8 per minute")
    visitor = Browser(server.url)
    token = visitor.csrf_token("/login")
    statuses = [
        visitor.request("/login", {"csrf_token": token, "id_number": f"11010119900101{n:03d}X",
                                   "password": "wrong-password"}).status
        for n in range(20)
    ]
    assert statuses.count(200) == 8 and statuses.count(429) == 12
    assert len(server.pids_that_answered()) == 2


def test_several_workers_on_in_memory_limits_are_refused(database_url, tmp_path):
    from tests.deployment.conftest import Gunicorn

    try:
        Gunicorn(database_url, tmp_path / "refused.log", workers=2,
                 CREDIT_SELF_RATELIMIT_STORAGE="memory://")
    except RuntimeError as refused:
        assert "memory://" in str(refused)
    else:
        raise AssertionError("two workers with per-process limits started")


def test_a_signed_out_cookie_opens_nothing_on_any_worker(serve, redis_url):
    server = serve(workers=2, CREDIT_SELF_RATELIMIT_STORAGE=redis_url)
    resident = Browser(server.url)
    clean = persona("clean")
    resident.sign_in(clean["id_number"], clean["password"])
    stolen = Browser(server.url)
    for cookie in resident.cookies:
        stolen.cookies.set_cookie(cookie)
    assert stolen.request("/me").status == 200
    token = resident.csrf_token("/me")
    assert resident.request("/logout", {"csrf_token": token}).status == 303
    answers = [stolen.request("/me") for _ in range(8)]
    assert all(a.status == 302 and "/login" in a.location for a in answers)
    assert len(server.pids_that_answered()) == 2


def test_a_killed_worker_loses_no_acknowledged_write(serve, redis_url, database_url):
    """Three residents' browsers issue certificates while one worker is killed with
    SIGKILL: every write the service acknowledged (a 303 to the new certificate) is in
    the database, and the audit chain is whole."""
    server = serve(workers=2, CREDIT_SELF_RATELIMIT_STORAGE=redis_url)
    clean = persona("clean")
    acknowledged: list[str] = []
    started = threading.Barrier(4)

    def issue(writer: int) -> None:
        resident = Browser(server.url)
        resident.sign_in(clean["id_number"], clean["password"])
        token = resident.csrf_token("/certificates")
        started.wait()
        for n in range(20):
            try:
                answer = resident.request("/certificates", {
                    "csrf_token": token, "purpose": "rental", "days": "1",
                    "audience": f"writer {writer}, write {n}"})
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
