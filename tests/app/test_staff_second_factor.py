"""Staff second factor (TOTP enrolment, codes, recovery codes, reset) and idle timeouts."""
import json
import re
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
from bs4 import BeautifulSoup

from credit_self.seeding import ADMIN_ACCOUNTS, DEMO_PASSWORD
from tests.conftest import STAFF, STAFF_SECRETS, persona, staff_login

START = datetime(2026, 11, 22, 2, 0, 5, tzinfo=timezone.utc)
NEW_LOGIN, NEW_PASSWORD = "new-reviewer", "a-new-staff-password"


@pytest.fixture
def frozen(app):
    """The app's clock stopped at START; tests move it by setting app.config["NOW"]."""
    app.config["NOW"] = START
    return app


def last_seq(db) -> int:
    return db.scalar("SELECT coalesce(max(seq), 0) FROM audit_log")


def audited_since(db, seq: int) -> list[dict]:
    return db.query("SELECT actor, action, detail FROM audit_log WHERE seq > ? ORDER BY seq", [seq])


def password_step(client, login: str, password: str = DEMO_PASSWORD):
    return client.post("/admin/login", data={"username": login, "password": password})


def code_at(role: str, moment: datetime) -> str:
    return pyotp.TOTP(STAFF_SECRETS[role]).at(moment)


def sessions_of(db, login: str) -> int:
    return db.scalar("SELECT count(*) FROM account_sessions s JOIN accounts a "
                     "ON a.id = s.account_id WHERE a.login = ?", [login])


def create_admin(app, login: str = NEW_LOGIN, role: str = "reviewer"):
    return app.test_cli_runner().invoke(args=[
        "create-admin", "--username", login, "--role", role, "--name", "Reviewer",
        "--password", NEW_PASSWORD])


def enrol(client, login: str = NEW_LOGIN, moment: datetime = START) -> tuple[str, list[str]]:
    """Sign in for the first time and set up the app: (secret, recovery codes)."""
    response = password_step(client, login, NEW_PASSWORD)
    assert response.headers["Location"] == "/admin/login/set-up"
    page = client.get("/admin/login/set-up").get_data(as_text=True)
    secret = "".join(BeautifulSoup(page, "html.parser").select_one("[data-totp-secret]")
                     .get_text().split())
    shown = client.post("/admin/login/set-up", data={"code": pyotp.TOTP(secret).at(moment)})
    assert shown.status_code == 200
    codes = [c.get_text() for c in BeautifulSoup(shown.get_data(as_text=True), "html.parser")
             .select("[data-recovery-codes] code")]
    return secret, codes


# ------------------------------------------------------------------ the code step


def test_a_stolen_staff_password_alone_signs_nobody_in(frozen, client, db):
    response = password_step(client, STAFF["superadmin"])
    assert response.status_code == 303 and response.headers["Location"] == "/admin/login/code"
    assert sessions_of(db, STAFF["superadmin"]) == 0
    for page in ("/admin", "/admin/accounts", "/account"):
        assert client.get(page).status_code == 302, page
    # Guessing is not a way round: a wrong code signs nobody in either.
    wrong = client.post("/admin/login/code", data={"code": "000000"})
    assert wrong.status_code == 200 and "The code is not right" in wrong.get_data(as_text=True)
    assert client.get("/admin").status_code == 302
    assert sessions_of(db, STAFF["superadmin"]) == 0


def test_the_code_field_is_named_and_labelled_code(frozen, client):
    password_step(client, STAFF["reviewer"])
    soup = BeautifulSoup(client.get("/admin/login/code").get_data(as_text=True), "html.parser")
    field = soup.select_one("form input[type=text]")
    label = soup.select_one(f"label[for={field['id']}]").get_text()
    assert field["name"] == "code" and "code" in label.lower()
    assert field["autocomplete"] == "one-time-code"


def test_the_right_code_after_the_password_signs_in(frozen, client, db):
    before = last_seq(db)
    password_step(client, STAFF["reviewer"])
    response = client.post("/admin/login/code", data={"code": code_at("reviewer", START)})
    assert response.status_code == 303 and response.headers["Location"] == "/admin"
    assert client.get("/admin").status_code == 200
    assert sessions_of(db, STAFF["reviewer"]) == 1
    events = audited_since(db, before)
    assert [e["action"] for e in events][-1] == "staff_second_factor_passed"
    assert json.loads(events[-1]["detail"]) == {"method": "totp"}


def test_a_code_from_the_step_before_or_after_is_accepted_not_older(frozen, client):
    password_step(client, STAFF["reviewer"])
    stale = client.post("/admin/login/code",
                        data={"code": code_at("reviewer", START - timedelta(seconds=90))})
    assert "The code is not right" in stale.get_data(as_text=True)
    late = client.post("/admin/login/code",
                       data={"code": code_at("reviewer", START - timedelta(seconds=30))})
    assert late.status_code == 303


def test_a_used_code_cannot_sign_in_again_in_its_window(frozen, client, db):
    code = code_at("reviewer", START)
    password_step(client, STAFF["reviewer"])
    assert client.post("/admin/login/code", data={"code": code}).status_code == 303
    client.post("/logout")
    # Someone who watched the code being typed tries it within the same 30 seconds.
    password_step(client, STAFF["reviewer"])
    replay = client.post("/admin/login/code", data={"code": code})
    assert replay.status_code == 200
    assert "This code has already been used" in replay.get_data(as_text=True)
    assert client.get("/admin").status_code == 302
    # An older code of the window is refused too; the next one works.
    older = client.post("/admin/login/code",
                        data={"code": code_at("reviewer", START - timedelta(seconds=30))})
    assert "already been used" in older.get_data(as_text=True)
    assert client.post("/admin/login/code", data={
        "code": code_at("reviewer", START + timedelta(seconds=30))}).status_code == 303


def test_five_wrong_codes_lock_the_account_for_15_minutes(frozen, client):
    password_step(client, STAFF["reviewer"])
    for _ in range(4):
        client.post("/admin/login/code", data={"code": "123456"})
    page = client.post("/admin/login/code", data={"code": "123456"}).get_data(as_text=True)
    assert "Too many wrong codes" in page and "locked until 10:15" in page
    right = client.post("/admin/login/code", data={"code": code_at("reviewer", START)})
    assert "Too many wrong codes" in right.get_data(as_text=True)
    later = START + timedelta(minutes=15, seconds=1)
    frozen.config["NOW"] = later
    password_step(client, STAFF["reviewer"])
    assert client.post("/admin/login/code",
                       data={"code": code_at("reviewer", later)}).status_code == 303


def test_the_code_step_expires_five_minutes_after_the_password(frozen, client):
    password_step(client, STAFF["reviewer"])
    later = START + timedelta(minutes=5, seconds=1)
    frozen.config["NOW"] = later
    response = client.post("/admin/login/code", data={"code": code_at("reviewer", later)})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/login"
    assert "More than 5 minutes passed" in client.get("/admin/login").get_data(as_text=True)
    assert client.get("/admin").status_code == 302


def test_the_code_step_without_a_password_goes_back_to_sign_in(client):
    response = client.post("/admin/login/code", data={"code": "123456"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/login"
    assert client.get("/admin/login/set-up").headers["Location"] == "/admin/login"


# ------------------------------------------------------------------ enrolment


def test_create_admin_prints_the_enrolment_step(app):
    result = create_admin(app)
    assert result.exit_code == 0, result.output
    assert "Created reviewer account 'new-reviewer'" in result.output
    assert "enrolment: sign in at /admin/login" in result.output
    assert "scan the QR code" in result.output and "recovery codes" in result.output


def test_first_sign_in_enrols_with_a_qr_code_and_gives_ten_recovery_codes(frozen, client, db):
    create_admin(frozen)
    before = last_seq(db)
    response = password_step(client, NEW_LOGIN, NEW_PASSWORD)
    assert response.headers["Location"] == "/admin/login/set-up"
    assert client.get("/admin").status_code == 302  # nothing opens before the app is set up
    page = client.get("/admin/login/set-up").get_data(as_text=True)
    soup = BeautifulSoup(page, "html.parser")
    assert soup.select_one("svg.qr__image path") is not None  # the QR code, inline
    secret = "".join(soup.select_one("[data-totp-secret]").get_text().split())
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    field = soup.select_one("form input[type=text]")
    assert field["name"] == "code"
    assert "code" in soup.select_one(f"label[for={field['id']}]").get_text().lower()

    wrong = client.post("/admin/login/set-up", data={"code": "000000"})
    assert "This code does not match" in wrong.get_data(as_text=True)
    assert db.count("staff_totp") == len(ADMIN_ACCOUNTS)  # not enrolled yet

    shown = client.post("/admin/login/set-up", data={"code": pyotp.TOTP(secret).at(START)})
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "This is the only time they are shown" in text
    codes = [c.get_text() for c in BeautifulSoup(text, "html.parser")
             .select("[data-recovery-codes] code")]
    assert len(codes) == 10 == len(set(codes))
    assert all(re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", c) for c in codes)
    assert client.get("/admin").status_code == 200  # signed in
    # Stored hashed: no code appears in the table.
    stored = db.query("SELECT code_hash FROM staff_recovery_codes r JOIN accounts a "
                      "ON a.id = r.account_id WHERE a.login = ?", [NEW_LOGIN])
    assert len(stored) == 10
    assert not {c.replace("-", "") for c in codes} & {r["code_hash"] for r in stored}
    assert not any(c in r["code_hash"] or c.replace("-", "") in r["code_hash"]
                   for c in codes for r in stored)
    assert "staff_second_factor_enrolled" in [e["action"] for e in audited_since(db, before)]
    # The confirming code was used: it cannot sign in again.
    client.post("/logout")
    password_step(client, NEW_LOGIN, NEW_PASSWORD)
    replay = client.post("/admin/login/code", data={"code": pyotp.TOTP(secret).at(START)})
    assert "already been used" in replay.get_data(as_text=True)


def test_a_recovery_code_signs_in_once(frozen, client, db):
    create_admin(frozen)
    _, codes = enrol(client)
    client.post("/logout")
    password_step(client, NEW_LOGIN, NEW_PASSWORD)
    # Typed in capitals and without hyphens still counts.
    response = client.post("/admin/login/code", data={"code": codes[3].replace("-", " ").upper()})
    assert response.status_code == 303
    assert "You have 9 recovery codes left" in client.get("/admin").get_data(as_text=True)
    client.post("/logout")
    password_step(client, NEW_LOGIN, NEW_PASSWORD)
    again = client.post("/admin/login/code", data={"code": codes[3]})
    assert again.status_code == 200 and "The code is not right" in again.get_data(as_text=True)
    assert client.get("/admin").status_code == 302
    assert db.scalar("SELECT count(*) FROM staff_recovery_codes WHERE used_at IS NOT NULL") == 1


def test_another_accounts_recovery_code_does_not_work(frozen, client):
    create_admin(frozen)
    _, codes = enrol(client)
    client.post("/logout")
    password_step(client, STAFF["reviewer"])
    page = client.post("/admin/login/code", data={"code": codes[0]}).get_data(as_text=True)
    assert "The code is not right" in page


# ------------------------------------------------------------------ reset


def test_a_superadmin_resets_a_second_factor_and_the_account_enrols_again(frozen, app, db):
    create_admin(frozen)
    owner = app.test_client()
    old_secret, old_codes = enrol(owner)
    assert owner.get("/admin").status_code == 200
    account_id = db.scalar("SELECT id FROM accounts WHERE login = ?", [NEW_LOGIN])
    admin = app.test_client()
    staff_login(admin, "superadmin")
    page = admin.get(f"/admin/accounts/{account_id}").get_data(as_text=True)
    assert "Authenticator app set up on" in page and "Reset the second factor" in page
    before = last_seq(db)
    response = admin.post(f"/admin/accounts/{account_id}/second-factor")
    assert response.status_code == 303
    page = admin.get(f"/admin/accounts/{account_id}").get_data(as_text=True)
    assert "The second factor of new-reviewer has been reset" in page
    assert "No authenticator app set up yet" in page
    assert "staff_account_second_factor_reset" in page  # in the account's history
    events = audited_since(db, before)
    assert [(e["actor"], e["action"]) for e in events] == [
        ("superadmin:demo-superadmin", "staff_account_second_factor_reset")]
    assert json.loads(events[0]["detail"]) == {"username": NEW_LOGIN, "had_one": True}
    # The owner is signed out, the old app and recovery codes open nothing, and the next
    # sign-in enrols again.
    assert owner.get("/admin").status_code == 302
    assert db.scalar("SELECT count(*) FROM staff_recovery_codes WHERE account_id = ?",
                     [account_id]) == 0
    later = START + timedelta(seconds=60)
    frozen.config["NOW"] = later
    response = password_step(owner, NEW_LOGIN, NEW_PASSWORD)
    assert response.headers["Location"] == "/admin/login/set-up"
    assert owner.post("/admin/login/code", data={"code": old_codes[0]}).headers[
        "Location"] == "/admin/login/set-up"
    new_secret, _ = enrol(owner, moment=later)
    assert new_secret != old_secret


def test_a_reset_between_password_and_code_sends_the_person_to_enrol(frozen, app, client):
    password_step(client, STAFF["reviewer"])
    app.test_cli_runner().invoke(args=["reset-second-factor", "--username", STAFF["reviewer"]])
    response = client.post("/admin/login/code", data={"code": code_at("reviewer", START)})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/login"
    assert "has just been reset" in client.get("/admin/login").get_data(as_text=True)
    assert client.get("/admin").status_code == 302
    assert password_step(client, STAFF["reviewer"]).headers["Location"] == "/admin/login/set-up"


def test_only_a_superadmin_resets_and_not_their_own(frozen, app, db):
    reviewer_id = db.scalar("SELECT id FROM accounts WHERE login = ?", [STAFF["reviewer"]])
    own_id = db.scalar("SELECT id FROM accounts WHERE login = ?", [STAFF["superadmin"]])
    reviewer = app.test_client()
    staff_login(reviewer, "reviewer")
    assert reviewer.post(f"/admin/accounts/{reviewer_id}/second-factor").status_code == 403
    admin = app.test_client()
    staff_login(admin, "superadmin")
    page = admin.post(f"/admin/accounts/{own_id}/second-factor")
    assert page.status_code == 200
    assert "You cannot change or disable your own account" in page.get_data(as_text=True)
    assert db.scalar("SELECT count(*) FROM staff_totp WHERE account_id = ?", [own_id]) == 1
    assert admin.post("/admin/accounts/99999999/second-factor").status_code == 404


def test_reset_second_factor_command(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reset-second-factor", "--username", STAFF["pilot_admin"]])
    assert result.exit_code == 0, result.output
    assert "Reset the second factor of 'demo-pilot-admin'" in result.output
    assert db.scalar("SELECT count(*) FROM staff_totp t JOIN accounts a ON a.id = t.account_id "
                     "WHERE a.login = ?", [STAFF["pilot_admin"]]) == 0
    assert db.scalar("SELECT actor FROM audit_log ORDER BY seq DESC LIMIT 1") == "system:cli"
    missing = runner.invoke(args=["reset-second-factor", "--username", "nobody-here"])
    assert missing.exit_code == 1 and "no staff account named" in missing.output


# ------------------------------------------------------------------ idle timeouts


def test_resident_sessions_end_after_20_idle_minutes(frozen, client, auth, db):
    auth.login("clean")
    frozen.config["NOW"] = START + timedelta(minutes=19)
    assert client.get("/me").status_code == 200  # activity restarts the idle clock
    frozen.config["NOW"] = START + timedelta(minutes=38)
    assert client.get("/me").status_code == 200
    frozen.config["NOW"] = START + timedelta(minutes=58, seconds=5)
    response = client.get("/me")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert "You were signed out after 20 minutes without activity" in page
    assert db.scalar("SELECT count(*) FROM account_sessions s JOIN accounts a "
                     "ON a.id = s.account_id WHERE a.id_number = ?",
                     [persona("clean")["id_number"]]) == 0
    assert db.scalar("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1") == "signed_out_idle"
    # Going back in time (a copied cookie) does not bring the session back.
    frozen.config["NOW"] = START + timedelta(minutes=40)
    assert client.get("/me").status_code == 302


def test_staff_sessions_end_after_30_idle_minutes(frozen, client):
    staff_login(client, "reviewer")
    frozen.config["NOW"] = START + timedelta(minutes=29)
    assert client.get("/admin").status_code == 200  # longer than a resident's 20
    frozen.config["NOW"] = START + timedelta(minutes=59, seconds=5)
    response = client.get("/admin")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
    page = client.get("/admin/login").get_data(as_text=True)
    assert "You were signed out after 30 minutes without activity" in page


def test_signed_in_pages_warn_before_the_timeout_and_offer_to_stay(frozen, client, auth):
    auth.login("clean")
    soup = BeautifulSoup(client.get("/me").get_data(as_text=True), "html.parser")
    assert "signed out after 20 minutes without activity" in soup.select_one(".idle-note").get_text()
    dialog = soup.select_one("dialog#idle-warning")
    assert dialog["data-idle-seconds-left"] == "1200"
    assert dialog["data-idle-warning-seconds"] == "120"
    stay = dialog.select_one("form[data-stay-signed-in]")
    assert stay["method"] == "post" and stay["action"] == "/account/stay-signed-in"
    assert stay.select_one("input[name=csrf_token]") is not None
    # Fetched with the page's other scripts after the first paint (base.html).
    assert "js/idle-warning.js" in soup.select_one("script[data-scripts]")["data-scripts"]
    # Signed out, no warning.
    client.post("/logout")
    assert client.get("/login").get_data(as_text=True).count("idle-warning") == 0


def test_stay_signed_in_restarts_the_idle_clock(frozen, client, auth):
    auth.login("clean")
    frozen.config["NOW"] = START + timedelta(minutes=10)
    # Asking how long is left is not activity.
    status = client.get("/account/session", headers={"Accept": "application/json"})
    assert status.get_json() == {"signed_in": True, "seconds_left": 600}
    frozen.config["NOW"] = START + timedelta(minutes=18, seconds=30)
    stay = client.post("/account/stay-signed-in", headers={"Accept": "application/json"})
    assert stay.get_json() == {"signed_in": True, "seconds_left": 1200}
    frozen.config["NOW"] = START + timedelta(minutes=38)
    assert client.get("/account/session").get_json() == {"signed_in": True, "seconds_left": 30}
    # Without JavaScript the button posts a form and comes back to the page.
    back = client.post("/account/stay-signed-in", data={"next": "/me/access"})
    assert back.status_code == 303 and back.headers["Location"] == "/me/access"
    frozen.config["NOW"] = START + timedelta(minutes=57, seconds=55)
    assert client.get("/me").status_code == 200


def test_the_idle_status_says_signed_out_once_ended(frozen, client, auth):
    auth.login("clean")
    frozen.config["NOW"] = START + timedelta(minutes=21)
    assert client.get("/account/session").get_json() == {"signed_in": False}
    assert client.post("/account/stay-signed-in").status_code == 302


def test_staying_signed_in_needs_the_csrf_token(csrf_app):
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    p = persona("clean")
    client.post("/login", data={"csrf_token": token, "id_number": p["id_number"],
                                "password": p["password"]})
    assert client.post("/account/stay-signed-in").status_code == 400
