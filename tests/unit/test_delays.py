"""Growing delays after failures, per key: free failures, then 1 s, 2 s, 4 s ... up to a
cap; forgotten after a quiet hour; reserved atomically."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from credit_self.auth import delays
from credit_self.db import make_engine

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
POLICY = delays.Policy(free_failures=4, max_delay=timedelta(seconds=300))
KEY = delays.login_key("someone")


def test_delays_grow_and_are_capped():
    waits = [POLICY.delay_after(n).total_seconds() for n in range(1, 16)]
    assert waits == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert POLICY.delay_after(10_000) == timedelta(seconds=300)


def test_an_attempt_must_wait_for_the_delay(db):
    for _ in range(4):
        assert delays.reserve(db, {KEY: POLICY}, NOW).retry_at is None
    fifth = delays.reserve(db, {KEY: POLICY}, NOW)
    assert fifth.allowed and fifth.retry_at == NOW + timedelta(seconds=1)
    refused = delays.reserve(db, {KEY: POLICY}, NOW + timedelta(milliseconds=999))
    assert not refused.allowed and refused.retry_at == NOW + timedelta(seconds=1)
    sixth = delays.reserve(db, {KEY: POLICY}, NOW + timedelta(seconds=1))
    assert sixth.allowed and sixth.failures[KEY] == 6


def test_the_longest_wait_of_all_keys_applies(db):
    address = delays.address_key("203.0.113.9")
    strict = delays.Policy(free_failures=1, max_delay=timedelta(seconds=300))
    delays.reserve(db, {KEY: POLICY, address: strict}, NOW)
    second = delays.reserve(db, {KEY: POLICY, address: strict}, NOW)
    assert second.retry_at == NOW + timedelta(seconds=1)
    assert not delays.reserve(db, {delays.login_key("other"): POLICY, address: strict}, NOW).allowed


def test_a_quiet_hour_forgets_and_forgive_clears(db):
    for _ in range(6):
        delays.reserve(db, {KEY: POLICY}, NOW)
    later = NOW + delays.FORGET_AFTER + timedelta(seconds=1)
    assert delays.reserve(db, {KEY: POLICY}, later).failures[KEY] == 1
    delays.forgive(db, KEY)
    assert db.count("failed_attempts") == 0


def test_give_back_undoes_one_failure(db):
    delays.reserve(db, {KEY: POLICY}, NOW)
    delays.reserve(db, {KEY: POLICY}, NOW)
    delays.give_back(db, KEY, POLICY)
    assert db.scalar("SELECT failures FROM failed_attempts") == 1


def test_attempts_sent_together_get_no_more_than_the_free_ones_and_one(database_url):
    engine = make_engine(database_url)
    # Twelve: within the engine's pool (5 + 10 overflow), so all can hold a connection.
    together = threading.Barrier(12, timeout=30)

    def attempt(_):
        with engine.connect() as conn:
            together.wait()
            return delays.reserve(conn, {KEY: POLICY}, NOW).allowed

    with ThreadPoolExecutor(12) as pool:
        allowed = list(pool.map(attempt, range(12)))
    engine.dispose()
    assert allowed.count(True) == POLICY.free_failures + 1


def test_attempts_that_all_succeed_leave_no_wait_behind(db):
    # Two people behind one address sign in at the same moment: the second reservation
    # went past the free failures, then both passwords were right.
    address = delays.address_key("203.0.113.9")
    strict = delays.Policy(free_failures=1, max_delay=timedelta(seconds=300))
    delays.reserve(db, {address: strict}, NOW)
    assert delays.reserve(db, {address: strict}, NOW).retry_at == NOW + timedelta(seconds=1)
    delays.give_back(db, address, strict)
    delays.give_back(db, address, strict)
    third = delays.reserve(db, {address: strict}, NOW + timedelta(milliseconds=10))
    assert third.allowed and third.failures[address] == 1


def test_giving_back_keeps_the_wait_of_the_failures_left(db):
    address = delays.address_key("203.0.113.9")
    strict = delays.Policy(free_failures=1, max_delay=timedelta(seconds=300))
    for at in (NOW, NOW, NOW + timedelta(seconds=1)):  # three wrong guesses
        assert delays.reserve(db, {address: strict}, at).allowed
    later = NOW + timedelta(seconds=3)  # when the third one's 2 s wait ends
    assert delays.reserve(db, {address: strict}, later).retry_at == later + timedelta(seconds=4)
    delays.give_back(db, address, strict)  # that one was right: three failures left
    refused = delays.reserve(db, {address: strict}, later + timedelta(seconds=1))
    assert not refused.allowed and refused.retry_at == later + timedelta(seconds=2)
    assert delays.reserve(db, {address: strict}, later + timedelta(seconds=2)).failures[address] == 4
