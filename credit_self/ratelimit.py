"""Rate-limit storage: limits' in-memory storage without a thread per burst of traffic.

`limits.storage.MemoryStorage` sweeps expired counters on a `threading.Timer` that it
restarts 10 ms after each sweep while traffic lasts: under load that is a new thread
about every tenth request, and starting one waits for the scheduler (about 8% of a
certificate verification, measured with py-spy under `make bench`). This subclass keeps
everything else (counters, windows, locking) and sweeps inline instead, at most once a
second. Counters are already expired on read (`MemoryStorage.get`), so limits behave
exactly the same; the sweep only frees memory for addresses that stopped coming.

Use it with `CREDIT_SELF_RATELIMIT_STORAGE=inline-memory://` (the default); any other
limits storage URI (e.g. `redis://` for several servers) works as before.
"""
import time

from limits.storage import MemoryStorage

SWEEP_INTERVAL_SECONDS = 1.0
DEFAULT_STORAGE_URI = "inline-memory://"


class InlineSweepMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["inline-memory"]

    _next_sweep = 0.0

    # MemoryStorage calls its private `__schedule_expiry` before every count change;
    # this is that name as Python mangles it inside MemoryStorage.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_INTERVAL_SECONDS
            try:
                self._MemoryStorage__expire_events()
            except (KeyError, RuntimeError):
                # Another thread expired a counter while this one swept (threaded
                # servers): the sweep only frees memory, so it simply runs next time.
                self._next_sweep = now
