"""`make test`: the whole suite on SQLite, then again on PostgreSQL, with Redis.

CREDIT_SELF_TEST_DATABASE_URL (a PostgreSQL server's admin URL, e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/postgres) and CREDIT_SELF_TEST_REDIS_URL
name servers to use; when unset, throwaway ones are started here and removed at the end.
Arguments are passed to pytest. The exit status is non-zero if either run fails.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import servers  # noqa: E402 (after the path is set)


def _run(label: str, env: dict[str, str], args: list[str]) -> int:
    print(f"\n===== {label} =====", flush=True)
    started = time.monotonic()
    status = subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env)
    print(f"===== {label}: {'passed' if status == 0 else 'FAILED'} in "
          f"{time.monotonic() - started:.0f} s =====", flush=True)
    return status


def main(args: list[str]) -> int:
    # Stopped from outside (Ctrl-C, SIGTERM): the throwaway servers are still removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with contextlib.ExitStack() as stack:
        postgresql = os.environ.get("CREDIT_SELF_TEST_DATABASE_URL") or stack.enter_context(
            servers.postgresql())
        redis = os.environ.get("CREDIT_SELF_TEST_REDIS_URL") or stack.enter_context(servers.redis())
        base = {key: value for key, value in os.environ.items()
                if key != "CREDIT_SELF_TEST_DATABASE_URL"}
        base["CREDIT_SELF_TEST_REDIS_URL"] = redis
        results = {
            "SQLite": _run("SQLite", base, args),
            "PostgreSQL": _run("PostgreSQL", {**base, "CREDIT_SELF_TEST_DATABASE_URL": postgresql},
                               args),
        }
    print("\n" + "  ".join(f"{engine}: {'passed' if status == 0 else 'FAILED'}"
                           for engine, status in results.items()))
    return 0 if all(status == 0 for status in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
