"""Sign in, growing delays after failures, sign out, the account page (activation:
test_activation.py; recovery: test_recovery.py)."""
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from credit_self.auth import delays
from tests.conftest import PERSONAS, make_test_app, persona, staff_login

NEW = persona("new_resident")


def last_seq(db) -> int:
    """The audit log's end: the seed already wrote rows, so tests look only past it."""
    return db.scalar("SELECT coalesce(max(seq), 0) FROM audit_log")


def audited_since(db, seq: int) -> list[dict]:
    return db.query("SELECT action, subject, detail FROM audit_log WHERE seq > ? ORDER BY seq",
                    [seq])


def actions_since(db, seq: int) -> list[str]:
    return [row["action"] for row in audited_since(db, seq)]


@pytest.fixture
def app_with(database_url):
    """Make an app on the test's database with other settings."""
    return lambda **config: make_test_app(database_url, **config)


def persona_login(client, who="clean"):
    p = persona(who)
    return client.post("/login", data={"id_number": p["id_number"], "password": p["password"]})


def test_sign_in_and_out(client, auth, db):
    before = last_seq(db)
    response = auth.login("clean")
    assert response.status_code == 303 and response.headers["Location"] == "/me"
    assert client.get("/me").status_code == 200
    assert auth.logout().status_code == 303
    response = client.get("/me")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert actions_since(db, before) == ["signed_in", "signed_out"]


def test_sign_in_follows_only_local_next(client):
    p = persona("clean")
    data = {"id_number": p["id_number"], "password": p["password"]}
    response = client.post("/login?next=/me/entries/1", data=data)
    assert response.headers["Location"] == "/me/entries/1"
    client.post("/logout")
    response = client.post("/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/me"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"id_number": "", "password": "x"}, "Enter your resident ID number"),
        ({"id_number": persona("clean")["id_number"], "password": ""}, "Enter your password"),
        ({"id_number": persona("clean")["id_number"], "password": "wrong-password"},
         "The ID number or password is not right"),
        ({"id_number": NEW["id_number"], "password": "any-password"},
         "The ID number or password is not right"),
    ],
)
def test_sign_in_failures(client, data, message):
    response = client.post("/login", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302


def wrong_sign_in(client, login=None, staff=False, **kwargs):
    if staff:
        return client.post("/admin/login", data={"username": login, "password": "nope-nope"},
                           **kwargs).get_data(as_text=True)
    login = login or persona("clean")["id_number"]
    return client.post("/login", data={"id_number": login, "password": "nope-nope"},
                       **kwargs).get_data(as_text=True)


def test_failures_slow_down_with_growing_delays(app, client, db):
    p = persona("clean")
    before = last_seq(db)
    start = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    app.config["NOW"] = start
    for _ in range(4):
        assert "not right" in wrong_sign_in(client)
    # The fifth failure makes the next attempt wait a second (02:00:01 UTC, China time).
    assert "try again at 10:00:01" in wrong_sign_in(client)
    # While the wait lasts, even the right password is not checked.
    assert "try again at 10:00:01" in persona_login(client).get_data(as_text=True)
    assert client.get("/me").status_code == 302
    app.config["NOW"] = start + timedelta(seconds=1)
    assert "try again at 10:00:03" in wrong_sign_in(client)  # then 2 s
    app.config["NOW"] = start + timedelta(seconds=3)
    assert "try again at 10:00:07" in wrong_sign_in(client)  # then 4 s
    app.config["NOW"] = start + timedelta(seconds=7)
    assert persona_login(client).status_code == 303
    audited = audited_since(db, before)
    failures = [row["subject"] for row in audited if row["action"] == "sign_in_failed"]
    assert failures == [p["id_number"]] * 7
    assert [row["action"] for row in audited].count("sign_in_delayed") == 1


def test_the_longest_wait_is_capped(app, client):
    """A stranger's failures never keep the owner out for more than MAX_DELAY_SECONDS
    after the last one (and recovery is never delayed: test_recovery.py)."""
    start = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    moment = start
    for _ in range(20):
        app.config["NOW"] = moment
        page = wrong_sign_in(client)
        match = re.search(r"try again at (\d\d):(\d\d):(\d\d)", page)
        if match:
            hours, minutes, seconds = map(int, match.groups())
            retry = moment.replace(hour=hours - 8, minute=minutes, second=seconds)
            assert retry - moment <= timedelta(seconds=app.config["MAX_DELAY_SECONDS"])
            moment = retry
    assert moment - start > timedelta(minutes=5)  # the cap was reached
    app.config["NOW"] = moment
    assert persona_login(client).status_code == 303


def test_delays_hold_when_wrong_passwords_arrive_at_once(app, db):
    """Attempts sent together (each its own browser) get five password checks at most."""
    p = persona("clean")
    before = last_seq(db)
    attempts = 12
    app.config["NOW"] = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    wrong_password = {"id_number": p["id_number"], "password": "nope-nope"}
    start_together = threading.Barrier(attempts, timeout=30)

    def attempt(_) -> str:
        browser = app.test_client()
        start_together.wait()
        response = browser.post("/login", data=wrong_password)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    with ThreadPoolExecutor(attempts) as pool:
        pages = list(pool.map(attempt, range(attempts)))
    assert all("not right" in page or "try again at" in page for page in pages)
    audited = audited_since(db, before)
    checked = [row for row in audited if row["action"] == "sign_in_failed"]
    refused = [row for row in audited if row["action"] == "sign_in_delayed"]
    assert len(checked) == 5 and {row["subject"] for row in checked} == {p["id_number"]}
    assert len(refused) == attempts - 5
    assert "try again at" in persona_login(app.test_client()).get_data(as_text=True)


def test_unknown_ids_slow_down_exactly_like_real_ones(client):
    """A delay must not reveal which ID numbers have accounts."""
    for _ in range(5):
        text = wrong_sign_in(client, NEW["id_number"])
    assert "try again at" in text


def test_one_address_guessing_many_ids_slows_down(app, client):
    app.config["NOW"] = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    # Spread over the personas, no ID reaches its own delay (at most 3 failures each).
    numbers = [p["id_number"] for p in PERSONAS]
    for i in range(app.config["FREE_FAILURES_PER_ADDRESS"]):
        assert "not right" in wrong_sign_in(client, numbers[i % len(numbers)])
    assert "try again at" in wrong_sign_in(client, numbers[0])
    # Another address is not slowed down by this one.
    answer = app.test_client().post(
        "/login", data={"id_number": persona("pilot_member")["id_number"],
                        "password": persona("pilot_member")["password"]},
        environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert answer.status_code == 303


def test_people_signing_in_together_at_one_address_leave_no_wait(app_with, db):
    """Found under load: right passwords sent together from one address (an office, a
    carrier's shared address) went past its free failures while being checked, and the
    wait they made outlived them, so the next person was told to wait for nobody's
    failures."""
    app = app_with(FREE_FAILURES_PER_ADDRESS=1)
    start = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    app.config["NOW"] = start
    here = {"REMOTE_ADDR": "203.0.113.20"}
    key = delays.address_key(here["REMOTE_ADDR"])
    policy = delays.Policy(1, timedelta(seconds=app.config["MAX_DELAY_SECONDS"]))
    delays.reserve(db, {key: policy}, start)  # someone's attempt, being checked
    clean, member = persona("clean"), persona("pilot_member")
    assert app.test_client().post(
        "/login", data={"id_number": clean["id_number"], "password": clean["password"]},
        environ_base=here).status_code == 303
    delays.give_back(db, key, policy)  # that someone's password was right too
    answer = app.test_client().post(
        "/login", data={"id_number": member["id_number"], "password": member["password"]},
        environ_base=here)
    assert answer.status_code == 303, answer.get_data(as_text=True)


def test_staff_sign_in_slows_down_the_same_way(app, client, db):
    """Finding: five anonymous attempts locked any staff account for 15 minutes, at will
    ("SEC-VICTIM-REV " locked sec-victim-rev)."""
    start = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    app.config["NOW"] = start
    for variant in ("DEMO-REVIEWER ", " demo-reviewer", "Demo-Reviewer", "demo-reviewer"):
        assert "not right" in wrong_sign_in(client, variant, staff=True)
    assert "try again at 10:00:01" in wrong_sign_in(client, "DEMO-REVIEWER", staff=True)
    app.config["NOW"] = start + timedelta(seconds=1)
    assert staff_login(app.test_client(), "reviewer").status_code == 303


def test_session_cookie_flags(app):
    response = persona_login(app.test_client())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    https = app.test_client().post(
        "/login",
        data={"id_number": persona("clean")["id_number"], "password": persona("clean")["password"]},
        base_url="https://localhost",
    )
    assert "Secure" in https.headers["Set-Cookie"]


def test_sign_in_is_rate_limited_per_address(app_with):
    app = app_with(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [
        client.post("/login", data={"id_number": f"x{i}", "password": "y"}).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    assert "Too many attempts" in client.post("/login", data={}).get_data(as_text=True)


def test_successful_sign_ins_do_not_count_against_the_limit(app_with):
    app = app_with(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute")
    client = app.test_client()
    for _ in range(4):
        answer = persona_login(client)
        assert answer.status_code == 303
        assert answer.headers["X-RateLimit-Limit"] == "2"
        assert answer.headers["X-RateLimit-Remaining"] == "2"
        client.post("/logout")
    failed = client.post("/login", data={"id_number": "x", "password": "y"})
    assert failed.status_code == 200 and failed.headers["X-RateLimit-Remaining"] == "1"
    # Pages that check no limit carry no rate-limit headers.
    assert "X-RateLimit-Limit" not in client.get("/login").headers


# ------------------------------------------------------------------ sessions and /account


def session_cookie(app, client) -> str:
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def test_after_signing_out_a_copy_of_the_cookie_opens_nothing(app, client, auth):
    auth.login("clean")
    copy = app.test_client()
    copy.set_cookie(app.config["SESSION_COOKIE_NAME"], session_cookie(app, client))
    assert copy.get("/me").status_code == 200
    assert auth.logout().status_code == 303
    response = copy.get("/me")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_account_page_needs_signing_in(client):
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_sign_out_on_every_device(app, client, auth, db):
    auth.login("clean")
    phone = app.test_client()
    persona_login(phone)
    other_resident = app.test_client()
    persona_login(other_resident, "defaulter")
    page = client.get("/account").get_data(as_text=True)
    assert "Sign out on every device" in page
    before = last_seq(db)
    response = client.post("/account/sign-out-everywhere")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "You have been signed out on every device" in client.get("/login").get_data(as_text=True)
    assert client.get("/me").status_code == 302
    assert phone.get("/me").status_code == 302
    assert other_resident.get("/me").status_code == 200  # only this account's sessions end
    ended = audited_since(db, before)
    assert [row["action"] for row in ended] == ["signed_out_everywhere"]
    assert '"sessions": 2' in ended[0]["detail"]


def change_password(client, current, new, confirm=None):
    return client.post("/account", data={"current_password": current, "password": new,
                                         "password_confirm": new if confirm is None else confirm})


def test_changing_the_password_signs_out_every_other_device(app, client, auth, db):
    p = persona("clean")
    new = "a-brand-new-password"
    auth.login("clean")
    phone = app.test_client()
    persona_login(phone)
    before = last_seq(db)
    response = change_password(client, p["password"], new)
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert "Your password has been changed" in client.get("/account").get_data(as_text=True)
    assert client.get("/me").status_code == 200  # this browser stays signed in
    assert phone.get("/me").status_code == 302
    assert actions_since(db, before) == ["password_changed"]
    again = app.test_client()
    assert "not right" in persona_login(again).get_data(as_text=True)  # the old password
    answer = again.post("/login", data={"id_number": p["id_number"], "password": new})
    assert answer.status_code == 303


def test_a_wrong_current_password_changes_nothing(app, client, auth, db):
    auth.login("clean")
    phone = app.test_client()
    persona_login(phone)
    before = last_seq(db)
    response = change_password(client, "not-my-password", "a-brand-new-password")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count("Your current password is not right") == 2
    assert 'href="#current_password"' in page and "<title>Error:" in page
    assert phone.get("/me").status_code == 200
    assert actions_since(db, before) == []
    assert persona_login(app.test_client()).status_code == 303  # the password is unchanged


@pytest.mark.parametrize(
    "current, new, confirm, field, message",
    [
        ("", "a-brand-new-password", None, "current_password", "Enter your current password"),
        (persona("clean")["password"], "short", None, "password", "at least 10 characters"),
        (persona("clean")["password"], "long-enough-1", "long-enough-2", "password_confirm",
         "The passwords do not match"),
    ],
)
def test_change_password_validation(app, client, auth, current, new, confirm, field, message):
    auth.login("clean")
    response = change_password(client, current, new, confirm)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count(message) == 2 and f'href="#{field}"' in page
    assert persona_login(app.test_client()).status_code == 303


def test_change_password_errors_are_listed_in_page_order(client, auth):
    auth.login("clean")
    page = change_password(client, "", "short").get_data(as_text=True)
    summary = page.split('class="error-summary__list"')[1].split("</ul>")[0]
    assert summary.index("#current_password") < summary.index("#password")


def test_staff_have_the_account_page_too(client):
    staff_login(client, "reviewer")
    assert "Change your password" in client.get("/account").get_data(as_text=True)
    response = client.post("/account/sign-out-everywhere")
    assert response.status_code == 303 and response.headers["Location"] == "/admin/login"
    assert client.get("/admin/login").status_code == 200  # signed out: the sign-in form again
