"""Forgot your password: ID number and name, a code to the registered phone, a new
password. Every session ends, the resident is told (inbox and text message), and an
account someone else activated goes back to the phone's owner."""
from datetime import datetime, timedelta, timezone

import pytest

from credit_self.auth import accounts
from credit_self.identity import with_check_digit
from tests.conftest import persona
from tests.phone import code_sent_to, messages_to

CLEAN = persona("clean")
NEW = persona("new_resident")
NEW_PASSWORD = "a-fresh-password"
MISMATCH = "These details do not match our records"


def recover(client, who=CLEAN, password=NEW_PASSWORD, db=None, name=None):
    """The three steps in one browser; the last response."""
    response = client.post("/recover", data={"id_number": who["id_number"],
                                             "name": name or who["name"]})
    assert response.status_code == 303 and response.headers["Location"] == "/recover/code"
    response = client.post("/recover/code", data={"code": code_sent_to(db, who["phone"])})
    assert response.status_code == 303 and response.headers["Location"] == "/recover/password"
    return client.post("/recover/password", data={"password": password,
                                                  "password_confirm": password})


def sign_in(client, who=CLEAN, password=None):
    return client.post("/login", data={"id_number": who["id_number"],
                                       "password": password or who["password"]})


def test_the_sign_in_page_links_to_recovery(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/recover"' in page and "Forgot your password?" in page
    assert "Reset your password" in client.get("/recover").get_data(as_text=True)


def test_recovery_ends_every_session_and_tells_the_resident(app, client, db):
    laptop, phone_browser = app.test_client(), app.test_client()
    assert sign_in(laptop).status_code == 303
    assert sign_in(phone_browser).status_code == 303
    before = db.scalar("SELECT max(seq) FROM audit_log")
    page = client.get("/recover/code")
    assert page.headers["Location"] == "/recover"
    client.post("/recover", data={"id_number": CLEAN["id_number"], "name": CLEAN["name"]})
    assert "138****0315" in client.get("/recover/code").get_data(as_text=True)
    assert "reset your password" in messages_to(db, CLEAN["phone"])[0]["text"]
    response = client.post("/recover/code", data={"code": code_sent_to(db, CLEAN["phone"])})
    assert "Choose a new password" in client.get("/recover/password").get_data(as_text=True)
    response = client.post("/recover/password", data={"password": NEW_PASSWORD,
                                                      "password_confirm": NEW_PASSWORD})
    # This browser is signed in; every other session has ended.
    assert response.status_code == 303 and response.headers["Location"] == "/me"
    assert "Your password has been reset" in client.get("/me").get_data(as_text=True)
    assert laptop.get("/me").status_code == 302
    assert phone_browser.get("/me").status_code == 302
    # The old password is gone, the new one works.
    assert "not right" in sign_in(app.test_client()).get_data(as_text=True)
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 303
    # Told in the inbox and by text message.
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "Your password was reset" in inbox and "138****0315" in inbox
    assert "password was reset" in messages_to(db, CLEAN["phone"])[0]["text"]
    actions = [row["action"] for row in db.query(
        "SELECT action FROM audit_log WHERE seq > ? ORDER BY seq", [before])]
    assert actions[:2] == ["recovery_code_sent", "password_reset"]
    assert db.count("one_time_codes") == 0


def test_the_notice_reads_in_chinese(client, db):
    recover(client, db=db)
    client.get("/language/zh_CN")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "您的密码已重置" in inbox


@pytest.mark.parametrize("who, name", [
    (NEW, NEW["name"]),  # no account yet
    (CLEAN, "王某某"),  # the name does not match
    ({"id_number": with_check_digit("31010419010101999")}, "陈静"),  # not in the register
], ids=["not_activated", "wrong_name", "unknown_id"])
def test_every_mismatch_gets_the_same_answer_and_no_code(client, db, who, name):
    sent = db.count("sms_outbox")
    response = client.post("/recover", data={"id_number": who["id_number"], "name": name})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and page.count(MISMATCH) == 2
    assert db.count("sms_outbox") == sent


def test_a_disabled_account_is_not_recovered(client, db):
    db.execute("UPDATE accounts SET disabled_at = '2026-01-01T00:00:00' WHERE id_number = ?",
               [CLEAN["id_number"]])
    page = client.post("/recover", data={"id_number": CLEAN["id_number"],
                                         "name": CLEAN["name"]}).get_data(as_text=True)
    assert MISMATCH in page


def test_the_phones_owner_takes_back_an_account_someone_else_activated(app, db):
    """Finding: whoever activated first owned the record, and the real resident had no
    way back. (Here the stranger's account is made directly, as before codes existed.)"""
    accounts.activate(db, NEW["id_number"], "strangers-password", "2026-11-01T10:00:00")
    stranger = app.test_client()
    assert sign_in(stranger, NEW, "strangers-password").status_code == 303
    owner = app.test_client()
    assert recover(owner, NEW, db=db).headers["Location"] == "/me"
    assert owner.get("/me").status_code == 200
    assert stranger.get("/me").status_code == 302
    assert "not right" in sign_in(app.test_client(), NEW, "strangers-password").get_data(as_text=True)


def test_a_strangers_failures_never_keep_the_owner_out(app, db):
    """Finding: five anonymous attempts locked any account for 15 minutes, renewable at
    will. Now they only slow password sign-in, and recovery is never delayed by them."""
    now = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    app.config["NOW"] = now
    stranger = app.test_client()
    for _ in range(12):
        stranger.post("/login", data={"id_number": CLEAN["id_number"], "password": "nope-nope"},
                      environ_base={"REMOTE_ADDR": "203.0.113.9"})
    owner = app.test_client()
    assert "try again at" in sign_in(owner).get_data(as_text=True)
    assert recover(owner, db=db).headers["Location"] == "/me"
    # The reset forgot the login's failures: the new password works at once elsewhere.
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 303


def test_the_password_step_needs_the_code(client, db):
    assert client.get("/recover/password").headers["Location"] == "/recover/code"
    client.post("/recover", data={"id_number": CLEAN["id_number"], "name": CLEAN["name"]})
    response = client.post("/recover/password", data={"password": NEW_PASSWORD,
                                                      "password_confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/recover/code"
    assert sign_in(client).status_code == 303  # the password did not change


def test_an_activation_code_does_not_reset_a_password(client, db):
    client.post("/activate", data={"id_number": NEW["id_number"], "name": NEW["name"]})
    client.post("/activate/code", data={"code": code_sent_to(db, NEW["phone"])})
    assert client.get("/recover/password").headers["Location"] == "/recover/code"


def test_a_verified_code_expires_if_no_password_follows(app, client, db):
    now = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    app.config["NOW"] = now
    client.post("/recover", data={"id_number": CLEAN["id_number"], "name": CLEAN["name"]})
    client.post("/recover/code", data={"code": code_sent_to(db, CLEAN["phone"])})
    app.config["NOW"] = now + timedelta(minutes=11)
    response = client.post("/recover/password", data={"password": NEW_PASSWORD,
                                                      "password_confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/recover/code"
    assert sign_in(client).status_code == 303
