"""The staff second factor's rules, and the idle limit, on the data layer."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from credit_self.auth import accounts, second_factor
from credit_self.db import make_engine
from tests.conftest import STAFF, STAFF_SECRETS

NOW = datetime(2026, 11, 22, 2, 0, 5, tzinfo=timezone.utc)
IDLE = accounts.IdleLimits(resident_minutes=20, staff_minutes=30)


def reviewer(db) -> accounts.Account:
    return accounts.get_account(db, db.scalar("SELECT id FROM accounts WHERE login = ?",
                                              [STAFF["reviewer"]]))


def check(db, code: str, at: datetime = NOW) -> second_factor.CodeResult:
    return second_factor.check_code(db, reviewer(db), code, at, max_failures=5, lock_minutes=15)


def code_at(moment: datetime) -> str:
    return pyotp.TOTP(STAFF_SECRETS["reviewer"]).at(moment)


def test_the_provisioning_uri_names_the_service_account_and_secret():
    secret = second_factor.new_secret()
    uri = urlsplit(second_factor.provisioning_uri(secret, "new-reviewer"))
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert uri.path == "/Credit%20Self-Check:new-reviewer"
    assert parse_qs(uri.query)["secret"] == [secret]
    assert parse_qs(uri.query)["issuer"] == ["Credit Self-Check"]
    assert len(secret) == 32 and secret != second_factor.new_secret()


@pytest.mark.parametrize("typed, normalised", [
    (" 123 456 ", "123456"), ("ABCD-efgh-2345-6789", "abcdefgh23456789"), (None, "")])
def test_codes_are_compared_without_spaces_hyphens_or_case(typed, normalised):
    assert second_factor.normalise_code(typed) == normalised


def test_secrets_are_shown_in_groups_of_four():
    assert second_factor.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"


def test_a_code_matches_its_own_step_and_one_either_side():
    secret = STAFF_SECRETS["reviewer"]
    step = pyotp.TOTP(secret).timecode(NOW)
    for offset, expected in ((-60, None), (-30, step - 1), (0, step), (30, step + 1), (60, None)):
        code = code_at(NOW + timedelta(seconds=offset))
        assert second_factor.matching_step(secret, code, NOW) == expected, offset


def test_each_code_step_is_accepted_once(db):
    assert check(db, code_at(NOW)).accepted
    replay = check(db, code_at(NOW))
    assert not replay.accepted and replay.replayed
    # An earlier step of the window is refused once a later one was used.
    assert check(db, code_at(NOW - timedelta(seconds=30))).replayed
    assert check(db, code_at(NOW + timedelta(seconds=30))).accepted


def test_one_code_sent_many_times_at_once_signs_in_once(database_url, db):
    attempts = 8
    together = threading.Barrier(attempts, timeout=30)
    engine = make_engine(database_url)
    account = reviewer(db)

    def attempt(_) -> bool:
        with engine.connect() as conn:
            together.wait()
            return second_factor.check_code(conn, account, code_at(NOW), NOW, 20, 15).accepted

    try:
        with ThreadPoolExecutor(attempts) as pool:
            results = list(pool.map(attempt, range(attempts)))
    finally:
        engine.dispose()
    assert results.count(True) == 1


def test_the_fifth_wrong_code_locks_and_a_right_code_clears_the_count(db):
    for _ in range(4):
        assert check(db, "000000").locked_until is None
    assert check(db, code_at(NOW)).accepted  # the count starts again
    for _ in range(4):
        check(db, "000000")
    locked = check(db, "000000")
    assert locked.locked_until == NOW + timedelta(minutes=15)
    assert not check(db, code_at(NOW + timedelta(seconds=30))).accepted
    after = NOW + timedelta(minutes=15, seconds=1)
    assert check(db, code_at(after), after).accepted


def test_enrolment_needs_a_code_of_the_new_secret_and_happens_once(db):
    account = accounts.get_account(db, db.scalar(
        "SELECT id FROM accounts WHERE role = 'resident' LIMIT 1"))
    db.execute("UPDATE accounts SET role = 'reviewer', login = 'fresh' WHERE id = ?", [account.id])
    secret = second_factor.new_secret()
    assert second_factor.enrol(db, account, secret, "000000", NOW) is None
    assert not second_factor.is_enrolled(db, account.id)
    codes = second_factor.enrol(db, account, secret, pyotp.TOTP(secret).at(NOW), NOW)
    assert len(codes) == 10 and second_factor.recovery_codes_left(db, account.id) == 10
    with pytest.raises(second_factor.AlreadyEnrolled):
        other = second_factor.new_secret()
        second_factor.enrol(db, account, other, pyotp.TOTP(other).at(NOW), NOW)
    assert db.count("staff_recovery_codes") == 10  # the second enrolment wrote nothing


def test_reset_forgets_the_app_and_ends_the_sessions(db):
    account = reviewer(db)
    accounts.start_session(db, account, NOW.isoformat())
    assert second_factor.reset(db, STAFF["reviewer"], "superadmin:someone") is True
    assert not second_factor.is_enrolled(db, account.id)
    assert db.count("account_sessions") == 0
    assert second_factor.reset(db, STAFF["reviewer"], "superadmin:someone") is False
    with pytest.raises(second_factor.NoStaffAccount):
        second_factor.reset(db, "no-such-login", "superadmin:someone")


def test_sessions_end_after_their_roles_idle_limit(db):
    account = accounts.start_session(db, reviewer(db), NOW.isoformat(timespec="seconds"))
    token = account.session_token
    still = accounts.account_for_session(db, token, NOW + timedelta(minutes=30), IDLE)
    assert still is not None and still.idle_seconds_left == 30 * 60  # touched: a fresh 30
    with pytest.raises(accounts.SessionTimedOut) as ended:
        accounts.account_for_session(db, token, NOW + timedelta(minutes=60, seconds=1), IDLE)
    assert ended.value.idle_minutes == 30
    assert accounts.account_for_session(db, token, NOW, IDLE) is None


def test_reading_without_touching_does_not_extend_a_session(db):
    account = accounts.start_session(db, reviewer(db), NOW.isoformat(timespec="seconds"))
    later = NOW + timedelta(minutes=25)
    peek = accounts.account_for_session(db, account.session_token, later, IDLE, touch=False)
    assert peek.idle_seconds_left == 5 * 60
    with pytest.raises(accounts.SessionTimedOut):
        accounts.account_for_session(db, account.session_token, NOW + timedelta(minutes=31), IDLE)
