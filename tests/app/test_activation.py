"""Activation: ID number and name, a one-time code sent to the registered phone, then a
password. One answer for every mismatch; the code's limits; no lock a stranger can set."""
from datetime import datetime, timedelta, timezone

import pytest

from credit_self import identity
from tests.conftest import make_test_app, persona
from tests.phone import code_sent_to, messages_to

NEW = persona("new_resident")
PASSWORD = "a-long-password"
MISMATCH = "These details do not match our records"
STRANGER = {"REMOTE_ADDR": "203.0.113.9"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


def last_seq(db) -> int:
    return db.scalar("SELECT coalesce(max(seq), 0) FROM audit_log")


def actions_since(db, seq: int) -> list[tuple[str, str | None]]:
    return [(row["action"], row["subject"]) for row in db.query(
        "SELECT action, subject FROM audit_log WHERE seq > ? ORDER BY seq", [seq])]


def start(client, id_number=NEW["id_number"], name=NEW["name"], **kwargs):
    return client.post("/activate", data={"id_number": id_number, "name": name}, **kwargs)


def enter_code(client, code, path="/activate/code", **kwargs):
    return client.post(path, data={"code": code}, **kwargs)


def choose_password(client, password=PASSWORD, path="/activate/password"):
    return client.post(path, data={"password": password, "password_confirm": password})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_activation_journey_with_the_code_sent_to_the_registered_phone(client, db):
    before = last_seq(db)
    response = start(client)
    assert response.status_code == 303 and response.headers["Location"] == "/activate/code"
    page = client.get("/activate/code").get_data(as_text=True)
    assert "177****0905" in page  # the registered number, masked
    assert NEW["phone"] not in page
    assert 'name="code"' in page and "Code from the text message" in page
    code = code_sent_to(db, NEW["phone"])
    assert "activate your account" in messages_to(db, NEW["phone"])[0]["text"]
    response = enter_code(client, code)
    assert response.status_code == 303 and response.headers["Location"] == "/activate/password"
    page = client.get("/activate/password").get_data(as_text=True)
    assert identity.mask_name(NEW["name"]) in page
    response = choose_password(client)
    assert response.status_code == 303 and response.headers["Location"] == "/me"
    assert "Your account is active" in client.get("/me").get_data(as_text=True)
    account = db.query("SELECT * FROM accounts WHERE id_number = ?", [NEW["id_number"]])[0]
    assert account["password_hash"].startswith(("scrypt:", "pbkdf2:"))
    assert actions_since(db, before) == [("activation_code_sent", NEW["id_number"]),
                                         ("account_activated", NEW["id_number"])]
    # The code was used up: a second browser cannot finish with it.
    assert db.count("one_time_codes") == 0


@pytest.mark.parametrize("id_number, name", [
    (identity.with_check_digit("31010419010101999"), NEW["name"]),  # not in the register
    (NEW["id_number"], "王某某"),  # the name does not match
    (persona("clean")["id_number"], persona("clean")["name"]),  # already activated
], ids=["unknown_id", "wrong_name", "already_activated"])
def test_every_mismatch_gets_the_same_answer_and_no_code(client, db, id_number, name):
    """Finding: /activate told a stranger whether an ID was in the register, whether the
    name matched and whether it was activated, each with its own message."""
    accounts_before, sent_before = db.count("accounts"), db.count("sms_outbox")
    response = start(client, id_number, name)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count(MISMATCH) == 2, "in the error summary and beside the field"
    assert 'href="#id_number"' in page and "<title>Error:" in page
    for leak in ("cannot find", "does not match the name", "already exists"):
        assert leak not in page
    assert db.count("accounts") == accounts_before
    assert db.count("sms_outbox") == sent_before
    assert client.get("/activate/code").headers["Location"] == "/activate"


@pytest.mark.parametrize("id_number, name, message", [
    ("", NEW["name"], "Enter your resident ID number"),
    ("12345", NEW["name"], "17 digits followed by a digit or X"),
    (NEW["id_number"][:17] + ("0" if NEW["id_number"][17] != "0" else "1"), NEW["name"],
     "its last character does not match the others"),
    (NEW["id_number"], "", "Enter your full name"),
])
def test_format_errors_are_still_specific(client, id_number, name, message):
    """What is wrong with the typing (not with the register) may be said."""
    page = start(client, id_number, name).get_data(as_text=True)
    assert page.count(message) == 2


def test_activation_keeps_what_was_typed(client):
    page = start(client, NEW["id_number"], "王某某").get_data(as_text=True)
    assert f'value="{NEW["id_number"]}"' in page and 'value="王某某"' in page


def test_the_password_step_needs_the_right_code(client, db):
    assert client.get("/activate/password").headers["Location"] == "/activate/code"
    start(client)
    assert client.get("/activate/password").headers["Location"] == "/activate/code"
    assert choose_password(client).headers["Location"] == "/activate/code"
    assert not db.query("SELECT 1 FROM accounts WHERE id_number = ?", [NEW["id_number"]])


@pytest.mark.parametrize("code, message", [
    ("", "Enter the 6-digit code from the text message"),
    ("12345", "The code is 6 digits"),
    ("abcdef", "The code is 6 digits"),
])
def test_code_format(client, code, message):
    start(client)
    page = enter_code(client, code).get_data(as_text=True)
    assert page.count(message) == 2 and 'href="#code"' in page


def test_spaces_and_hyphens_in_the_code_are_ignored(client, db):
    start(client)
    code = code_sent_to(db, NEW["phone"])
    response = enter_code(client, f"{code[:3]} - {code[3:]}")
    assert response.headers["Location"] == "/activate/password"


def test_five_tries_then_start_again(client, db):
    start(client)
    code = code_sent_to(db, NEW["phone"])
    for left in (4, 3, 2, 1):
        page = enter_code(client, wrong(code)).get_data(as_text=True)
        more = "try" if left == 1 else "tries"
        assert f"you have {left} more {more}" in page
    response = enter_code(client, wrong(code))
    assert response.status_code == 303 and response.headers["Location"] == "/activate"
    assert "wrong too many times" in client.get("/activate").get_data(as_text=True)
    # Even the right code is of no use now.
    assert enter_code(client, code).headers["Location"] == "/activate"
    assert db.count("one_time_codes") == 0


def test_the_code_is_stored_hashed(client, db):
    start(client)
    code = code_sent_to(db, NEW["phone"])
    (row,) = db.query("SELECT * FROM one_time_codes")
    assert code not in " ".join(str(value) for value in row.values())
    assert len(row["code_hash"]) == 64


def test_a_code_lasts_ten_minutes(app, client, db):
    now = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    app.config["NOW"] = now
    start(client)
    code = code_sent_to(db, NEW["phone"])
    app.config["NOW"] = now + timedelta(minutes=10)
    page = enter_code(client, code).get_data(as_text=True)
    assert "This code has expired" in page
    app.config["NOW"] = now + timedelta(minutes=9, seconds=59)
    assert enter_code(client, code).headers["Location"] == "/activate/password"


def test_a_new_code_after_a_minute_replaces_the_old_one(app, client, db):
    now = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    app.config["NOW"] = now
    start(client)
    first = code_sent_to(db, NEW["phone"])
    assert "from 10:01:00" in client.get("/activate/code").get_data(as_text=True)
    response = client.post("/activate/code/resend")
    assert response.headers["Location"] == "/activate/code"
    assert "You can ask for a new code from 10:01:00" in client.get("/activate/code").get_data(as_text=True)
    assert len(messages_to(db, NEW["phone"])) == 1
    app.config["NOW"] = now + timedelta(seconds=60)
    client.post("/activate/code/resend")
    assert "We sent a new code to 177****0905" in client.get("/activate/code").get_data(as_text=True)
    assert len(messages_to(db, NEW["phone"])) == 2
    second = code_sent_to(db, NEW["phone"])
    if first != second:
        assert "not right" in enter_code(client, first).get_data(as_text=True)
    assert enter_code(client, second).headers["Location"] == "/activate/password"


def test_a_strangers_wrong_codes_do_not_use_up_the_owners_tries(app, db):
    owner, stranger = app.test_client(), app.test_client()
    start(owner)
    owner_code = code_sent_to(db, NEW["phone"])
    start(stranger)
    for _ in range(5):
        enter_code(stranger, wrong(owner_code))
    assert enter_code(owner, owner_code).headers["Location"] == "/activate/password"


def test_only_one_browser_can_finish(app, db):
    first, second = app.test_client(), app.test_client()
    start(first)
    enter_code(first, code_sent_to(db, NEW["phone"]))
    start(second)
    enter_code(second, code_sent_to(db, NEW["phone"]))
    assert choose_password(first).headers["Location"] == "/me"
    response = choose_password(second)
    assert response.headers["Location"] == "/login"
    assert "An account already exists" in second.get("/login").get_data(as_text=True)
    assert len(db.query("SELECT 1 FROM accounts WHERE id_number = ?", [NEW["id_number"]])) == 1


def test_a_stranger_cannot_keep_the_owner_from_activating(database_url, db):
    """Finding: five wrong activation attempts for an ID blocked it for 15 minutes
    (a limit per ID number), whoever made them."""
    app = make_test_app(database_url, RATELIMIT_ENABLED=True)
    stranger, owner = app.test_client(), app.test_client()
    for _ in range(8):
        assert start(stranger, name="王某某", environ_base=STRANGER).status_code == 200
    response = start(owner, environ_base=OWNER)
    assert response.status_code == 303
    enter_code(owner, code_sent_to(db, NEW["phone"]), environ_base=OWNER)
    assert choose_password(owner).headers["Location"] == "/me"


def test_activation_is_rate_limited_per_address(database_url):
    app = make_test_app(database_url, RATELIMIT_ENABLED=True, ACTIVATE_RATE_LIMIT="3 per minute")
    client = app.test_client()
    answers = [start(client, name="王某某").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert start(app.test_client(), environ_base=OWNER).status_code == 303
