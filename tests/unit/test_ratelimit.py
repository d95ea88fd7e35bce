"""The inline-sweeping in-memory rate-limit storage counts exactly like limits' own
MemoryStorage, never starts a thread per request, and still frees idle counters."""
import threading

import pytest
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from credit_self import ratelimit


def test_the_default_uri_names_it():
    assert isinstance(storage_from_string("inline-memory://"), ratelimit.InlineSweepMemoryStorage)


def test_counts_the_same_as_memory_storage():
    limit = parse("5 per minute")
    ours = FixedWindowRateLimiter(ratelimit.InlineSweepMemoryStorage())
    theirs = FixedWindowRateLimiter(MemoryStorage())
    for address in ["1.1.1.1", "2.2.2.2", "1.1.1.1"] * 4:
        assert ours.hit(limit, address) == theirs.hit(limit, address)
    assert not ours.hit(limit, "1.1.1.1")  # sixth hit in the window is refused


def test_no_thread_is_started_while_counting(monkeypatch):
    storage = ratelimit.InlineSweepMemoryStorage()

    def no_timers(*args, **kwargs):
        raise AssertionError("a Timer thread was started")

    monkeypatch.setattr(threading, "Timer", no_timers)
    for i in range(500):
        storage.incr(f"address-{i % 9}", 60)
    assert storage.get("address-1") > 0


def test_idle_counters_are_swept(monkeypatch):
    clock = {"now": 1000.0}
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock["now"])
    storage = ratelimit.InlineSweepMemoryStorage()
    storage.incr("gone-quiet", 1)
    storage.expirations["gone-quiet"] = 0  # its window is over
    clock["now"] += ratelimit.SWEEP_INTERVAL_SECONDS + 0.1
    storage.incr("someone-else", 60)
    assert "gone-quiet" not in storage.storage


@pytest.mark.parametrize("uri", ["memory://", "inline-memory://"])
def test_both_storages_still_load(uri):
    assert storage_from_string(uri).check()


def test_a_sweep_interrupted_by_another_thread_does_not_fail_the_request(monkeypatch):
    storage = ratelimit.InlineSweepMemoryStorage()

    def racing_sweep():
        raise KeyError("expired by another thread meanwhile")

    monkeypatch.setattr(storage, "_MemoryStorage__expire_events", racing_sweep)
    assert storage.incr("address", 60) == 1
    assert storage.incr("address", 60) == 2  # and it tries again next time
