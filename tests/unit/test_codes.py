"""One-time codes: stored hashed, ten minutes, five tries counted atomically, a new code
a minute after the last, used once."""
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from credit_self.auth import codes
from credit_self.db import make_engine
from tests.conftest import persona

SECRET = "test-secret"
ID = persona("new_resident")["id_number"]
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_the_table_holds_neither_the_token_nor_the_code(db):
    token, code = codes.start(db, ID, codes.ACTIVATION, NOW, SECRET)
    assert len(code) == 6 and code.isdigit()
    (row,) = db.query("SELECT * FROM one_time_codes")
    assert row["id"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row) and code not in row["code_hash"]
    # Another secret key makes another digest: a copy of the table alone is no use.
    token2, code2 = codes.start(db, ID, codes.ACTIVATION, NOW, "another-secret")
    assert codes.check(db, token2, codes.ACTIVATION, code2, NOW, SECRET).outcome is codes.Outcome.WRONG


def test_five_tries_then_the_row_is_gone(db):
    token, code = codes.start(db, ID, codes.RECOVERY, NOW, SECRET)
    left = [codes.check(db, token, codes.RECOVERY, wrong(code), NOW, SECRET) for _ in range(4)]
    assert [c.tries_left for c in left] == [4, 3, 2, 1]
    assert codes.check(db, token, codes.RECOVERY, wrong(code), NOW, SECRET).outcome is codes.Outcome.TOO_MANY
    assert codes.check(db, token, codes.RECOVERY, code, NOW, SECRET).outcome is codes.Outcome.GONE


def test_tries_sent_together_never_exceed_five(database_url, db):
    token, code = codes.start(db, ID, codes.RECOVERY, NOW, SECRET)
    engine = make_engine(database_url)
    together = threading.Barrier(12, timeout=30)

    def attempt(_):
        with engine.connect() as conn:
            together.wait()
            return codes.check(conn, token, codes.RECOVERY, wrong(code), NOW, SECRET).outcome

    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(attempt, range(12)))
    engine.dispose()
    counted = [o for o in outcomes if o in (codes.Outcome.WRONG, codes.Outcome.TOO_MANY)]
    assert len(counted) == codes.MAX_TRIES
    assert outcomes.count(codes.Outcome.TOO_MANY) == 1


def test_a_code_lasts_ten_minutes(db):
    token, code = codes.start(db, ID, codes.ACTIVATION, NOW, SECRET)
    late = NOW + codes.VALID_FOR
    assert codes.check(db, token, codes.ACTIVATION, code, late, SECRET).outcome is codes.Outcome.EXPIRED
    just_in_time = late - timedelta(seconds=1)
    assert codes.check(db, token, codes.ACTIVATION, code, just_in_time, SECRET).outcome is codes.Outcome.RIGHT


def test_a_new_code_a_minute_after_the_last_keeps_the_tries(db):
    token, first = codes.start(db, ID, codes.ACTIVATION, NOW, SECRET)
    codes.check(db, token, codes.ACTIVATION, wrong(first), NOW, SECRET)
    assert codes.renew(db, token, codes.ACTIVATION, NOW + timedelta(seconds=59), SECRET) is None
    second = codes.renew(db, token, codes.ACTIVATION, NOW + timedelta(seconds=60), SECRET)
    assert second is not None
    later = NOW + timedelta(seconds=61)
    if first != second:
        assert codes.check(db, token, codes.ACTIVATION, first, later, SECRET).tries_left == 3
    assert codes.check(db, token, codes.ACTIVATION, second, later, SECRET).outcome is codes.Outcome.RIGHT


def test_a_verified_code_is_used_once_and_only_for_its_purpose(db):
    token, code = codes.start(db, ID, codes.ACTIVATION, NOW, SECRET)
    assert codes.check(db, token, codes.RECOVERY, code, NOW, SECRET).outcome is codes.Outcome.GONE
    assert codes.check(db, token, codes.ACTIVATION, code, NOW, SECRET).outcome is codes.Outcome.RIGHT
    assert codes.verified_id_number(db, token, codes.RECOVERY, NOW) is None
    assert codes.verified_id_number(db, token, codes.ACTIVATION, NOW) == ID
    assert codes.use(db, token, codes.ACTIVATION, NOW) == ID
    assert codes.use(db, token, codes.ACTIVATION, NOW) is None


def test_ending_all_of_an_ids_codes(db):
    tokens = [codes.start(db, ID, codes.RECOVERY, NOW, SECRET)[0] for _ in range(3)]
    other = codes.start(db, persona("clean")["id_number"], codes.RECOVERY, NOW, SECRET)[0]
    codes.end_all(db, ID)
    assert all(codes.pending(db, t, codes.RECOVERY) is None for t in tokens)
    assert codes.pending(db, other, codes.RECOVERY) is not None
