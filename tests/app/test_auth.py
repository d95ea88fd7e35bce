"""Activation by real-name match, sign in, lockout, sign out."""
from datetime import datetime, timedelta, timezone

import pytest

from credit_self import identity
from tests.conftest import persona

NEW = persona("new_resident")


def post_activation(client, id_number, name):
    return client.post("/activate", data={"id_number": id_number, "name": name})


def test_activation_journey_creates_a_signed_in_account(client, db):
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
    actions = [r["action"] for r in db.query("SELECT action FROM audit_log")]
    assert "account_activated" in actions


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
    response = auth.login("clean")
    assert response.status_code == 303 and response.headers["Location"] == "/me"
    assert client.get("/me").status_code == 200
    assert auth.logout().status_code == 303
    response = client.get("/me")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    actions = [r["action"] for r in db.query("SELECT action FROM audit_log ORDER BY seq")]
    assert actions[-2:] == ["signed_in", "signed_out"]


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
    failures = [r for r in db.query("SELECT * FROM audit_log WHERE action = 'sign_in_failed'")]
    assert len(failures) == 5 and failures[0]["subject"] == p["id_number"]


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


def persona_login(client, who="clean"):
    p = persona(who)
    return client.post("/login", data={"id_number": p["id_number"], "password": p["password"]})


def test_sign_in_is_rate_limited_per_address(db_path):
    from tests.conftest import make_test_app

    app = make_test_app(db_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [
        client.post("/login", data={"id_number": f"x{i}", "password": "y"}).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    assert "Too many attempts" in client.post("/login", data={}).get_data(as_text=True)


def test_successful_sign_ins_do_not_count_against_the_limit(db_path):
    from tests.conftest import make_test_app

    app = make_test_app(db_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute")
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


@pytest.mark.parametrize("address, agent", [
    ("127.0.0.1", "Browser A"), ("127.0.0.1", "Browser B"), ("10.0.0.9", "Browser A"),
    ("127.0.0.1", None),
])
def test_session_protection_identifier_is_flask_logins_own(app, address, agent):
    # Remembered per (address, browser): each pair still gets its own identifier.
    from flask_login.utils import _create_identifier

    from credit_self import session_identifier

    headers = {"User-Agent": agent} if agent else {}
    for forwarded in (None, "203.0.113.7, 10.0.0.1"):
        if forwarded:
            headers["X-Forwarded-For"] = forwarded
        with app.test_request_context(headers=headers, environ_base={"REMOTE_ADDR": address}):
            assert session_identifier() == _create_identifier()
