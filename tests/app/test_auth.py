"""Activation by real-name match, sign in, lockout, sign out, the account page."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from credit_self import identity
from tests.conftest import make_test_app, persona, staff_login

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


def post_activation(client, id_number, name):
    return client.post("/activate", data={"id_number": id_number, "name": name})


def test_activation_journey_creates_a_signed_in_account(client, db):
    before = last_seq(db)
    response = post_activation(client, NEW["id_number"], NEW["name"])
    assert response.status_code == 303 and response.headers["Location"] == "/activate/password"
    page = client.get("/activate/password").get_data(as_text=True)
    assert identity.mask_name(NEW["name"]) in page
    response = client.post(
        "/activate/password",
        data={"password": "a-long-password", "password_confirm": "a-long-password"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/me"
    assert client.get("/me").status_code == 200
    account = list(db.query("SELECT * FROM accounts WHERE id_number = ?", [NEW["id_number"]]))[0]
    assert account["password_hash"].startswith(("scrypt:", "pbkdf2:"))
    assert "a-long-password" not in account["password_hash"]
    audited = [(row["action"], row["subject"]) for row in audited_since(db, before)]
    assert audited == [("account_activated", NEW["id_number"])]


@pytest.mark.parametrize(
    "id_number, name, field, message",
    [
        ("", NEW["name"], "id_number", "Enter your resident ID number"),
        ("12345", NEW["name"], "id_number", "17 digits followed by a digit or X"),
        (NEW["id_number"][:17] + ("0" if NEW["id_number"][17] != "0" else "1"), NEW["name"],
         "id_number", "its last character does not match the others"),
        (identity.with_check_digit("31010419851340123"), NEW["name"], "id_number", "not a real date of birth"),
        (identity.with_check_digit("31010419010101999"), NEW["name"], "id_number",
         "We cannot find this ID number in the population register"),
        (NEW["id_number"], "", "name", "Enter your full name"),
        (NEW["id_number"], "王某某", "name", "This name does not match the name registered"),
        (persona("clean")["id_number"], persona("clean")["name"], "id_number",
         "An account already exists for this ID number"),
    ],
)
def test_each_activation_failure_has_its_own_message(client, db, id_number, name, field, message):
    accounts_before = db.execute("SELECT count(*) FROM accounts").fetchone()[0]
    response = post_activation(client, id_number, name)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count(message) == 2, "message in the error summary and beside the field"
    assert f'href="#{field}"' in page
    assert "<title>Error:" in page
    assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] == accounts_before


def test_activation_keeps_what_was_typed(client):
    page = post_activation(client, NEW["id_number"], "王某某").get_data(as_text=True)
    assert f'value="{NEW["id_number"]}"' in page and 'value="王某某"' in page


def test_an_already_activated_id_is_only_revealed_after_the_name_matches(client):
    clean = persona("clean")
    page = post_activation(client, clean["id_number"], "王某某").get_data(as_text=True)
    assert "does not match the name registered" in page
    assert "already exists" not in page


@pytest.mark.parametrize(
    "password, confirm, message",
    [
        ("", "", "Enter a password"),
        ("short", "short", "at least 10 characters"),
        ("long-enough-1", "long-enough-2", "The passwords do not match"),
    ],
)
def test_password_step_validation(client, db, password, confirm, message):
    post_activation(client, NEW["id_number"], NEW["name"])
    response = client.post(
        "/activate/password", data={"password": password, "password_confirm": confirm}
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True).count(message) == 2
    assert not list(db.query("SELECT 1 FROM accounts WHERE id_number = ?", [NEW["id_number"]]))


def test_password_step_needs_the_name_check_first(client):
    response = client.get("/activate/password")
    assert response.status_code == 302 and response.headers["Location"] == "/activate"


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


def test_five_failures_lock_the_id_for_15_minutes(app, client, db):
    p = persona("clean")
    before = last_seq(db)
    start = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    app.config["NOW"] = start
    for _ in range(4):
        page = client.post("/login", data={"id_number": p["id_number"], "password": "nope-nope"})
        assert "not right" in page.get_data(as_text=True)
    page = client.post("/login", data={"id_number": p["id_number"], "password": "nope-nope"})
    text = page.get_data(as_text=True)
    assert "It is locked until 10:15" in text  # 02:15 UTC shown in China time
    # Even the right password is refused while locked.
    text = client.post("/login", data={"id_number": p["id_number"], "password": p["password"]}).get_data(as_text=True)
    assert "It is locked until" in text
    assert client.get("/me").status_code == 302
    app.config["NOW"] = start + timedelta(minutes=15, seconds=1)
    response = client.post("/login", data={"id_number": p["id_number"], "password": p["password"]})
    assert response.status_code == 303
    failures = [row["subject"] for row in audited_since(db, before)
                if row["action"] == "sign_in_failed"]
    assert failures == [p["id_number"]] * 5


def test_lockout_holds_when_wrong_passwords_arrive_at_once(app, db):
    """Attempts sent together (each its own browser) get five password checks at most."""
    p = persona("clean")
    before = last_seq(db)
    attempts = 12
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
    assert all("not right" in page or "It is locked until" in page for page in pages)
    audited = audited_since(db, before)
    checked = [row for row in audited if row["action"] == "sign_in_failed"]
    refused = [row for row in audited if row["action"] == "sign_in_refused_locked"]
    assert len(checked) == 5 and {row["subject"] for row in checked} == {p["id_number"]}
    assert len(refused) == attempts - 5
    assert "It is locked until" in persona_login(app.test_client()).get_data(as_text=True)


def test_unknown_ids_lock_exactly_like_real_ones(client):
    """A lockout message must not reveal which ID numbers have accounts."""
    for _ in range(5):
        text = client.post("/login", data={"id_number": NEW["id_number"], "password": "nope-nope"}).get_data(as_text=True)
    assert "It is locked until" in text


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
