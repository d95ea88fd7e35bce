"""Certificates: issuing, the on-screen and printed QR, revocation, the scan log, and
what a verifier sees at /v/<token> and /api/v1/verify/<token>."""
import hashlib
import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
import pypdf
from bs4 import BeautifulSoup
from flask import jsonify
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.engine import make_url

from credit_self import audit
from credit_self.records import entries
import json

from jwcrypto import jwk

from credit_self.certificates import credentials, issuer_keys, statements, store, tokens
from credit_self.db import engine_for, sqlite_url, write_transaction
from tests.conftest import ON_POSTGRESQL, AuthActions, make_test_app, persona

T0 = datetime(2026, 3, 10, 2, 0, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
CLEAN = persona("clean")


@pytest.fixture
def app_with(database_url):
    """Makes apps on the test's database, at T0 unless told otherwise."""
    return lambda **config: make_test_app(database_url, **{"NOW": T0, **config})


@pytest.fixture
def app(app_with):
    return app_with()


def issue_certificate(app, who="clean", days=3, purpose="rental", audience="Mr Wang, landlord",
                      chosen=statements.PRESET):
    """A certificate written straight through the data layer, issued at the app's NOW."""
    with engine_for(app).connect() as conn, write_transaction(conn):
        return store.create(conn, persona(who)["id_number"], purpose, audience,
                            app.config["NOW"], timedelta(days=days), chosen)


def token_for(app, certificate, kind=tokens.SCREEN, at=None, keys=None):
    return tokens.make_token(keys or [app.config["SECRET_KEY"]], certificate["id"], kind,
                             at or app.config["NOW"])


def verdict_of(client, token):
    response = client.get(f"/api/v1/verify/{token}")
    return response.json["verdict"]


def verdict_section(html: str) -> str:
    match = re.search(r'<section class="verdict.*?</section>', html, re.S)
    assert match, "no verdict section"
    return match.group(0)


def scans(db, certificate_id):
    """The certificate's scan log as its holder sees it, newest first."""
    latest, _total = store.scan_history(db, certificate_id)
    return latest


def add_blacklist_entry(db, id_number):
    db.execute(
        "INSERT INTO entries (list_code, id_number, tier, document_no, listed_on, expires_on,"
        " status) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ["restricted_consumption", id_number, "general", "TEST-CERT-1", "2026-03-01", None,
         "listed"],
    )


def last_audit_seq(db) -> int:
    return db.scalar("SELECT max(seq) FROM audit_log")


def audit_actions_after(db, seq: int, action: str) -> list[dict]:
    return db.query("SELECT subject FROM audit_log WHERE seq > ? AND action = ?", [seq, action])


def unreadable_database_url(tmp_path, database_url) -> str:
    """A database URL the app cannot read from: a file of junk on SQLite, a database the
    server does not have on PostgreSQL (every connection is refused)."""
    if ON_POSTGRESQL:
        return make_url(database_url).set(database=make_url(database_url).database + "_gone") \
            .render_as_string(hide_password=False)
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 100)
    return sqlite_url(broken)


# --------------------------------------------------------------------------- verdicts


def test_valid_certificate_shows_masked_holder_and_the_server_time(app, client):
    certificate = issue_certificate(app)
    token = token_for(app, certificate)
    page = client.get(f"/v/{token}")
    assert page.status_code == 200
    soup = BeautifulSoup(page.data, "html.parser")
    assert soup.h1.get_text(strip=True) == "Valid: every statement is true as of 10:00:00"
    section = soup.select_one("#verdict").get_text(" ", strip=True)
    assert "陈*" in section and "3101**********9020" in section
    assert "Renting a home" in section and "Mr Wang, landlord" in section
    assert "What a valid certificate means" in page.get_data(as_text=True)
    answer = client.get(f"/api/v1/verify/{token}")
    assert answer.json == {
        "verdict": "valid",
        "checked_at": "2026-03-10T02:00:00+00:00",
        "holder": {"name_masked": "陈*", "id_masked": "3101**********9020"},
        "purpose": "rental",
        "audience": "Mr Wang, landlord",
        "expires_at": "2026-03-13T02:00:00+00:00",
        "statements": ["no_blacklist"],
    }
    # Byte for byte what Flask's jsonify writes: sorted keys, compact, ASCII, a newline.
    assert answer.mimetype == "application/json"
    assert answer.data == (
        b'{"audience":"Mr Wang, landlord","checked_at":"2026-03-10T02:00:00+00:00",'
        b'"expires_at":"2026-03-13T02:00:00+00:00","holder":{"id_masked":"3101**********9020",'
        b'"name_masked":"\\u9648*"},"purpose":"rental","statements":["no_blacklist"],'
        b'"verdict":"valid"}\n'
    )
    with app.test_request_context():
        assert answer.data == jsonify(answer.json).get_data()


def test_restricted_since_issue_is_not_valid(app, client, db):
    certificate = issue_certificate(app)
    token = token_for(app, certificate)
    assert verdict_of(client, token) == "valid"
    add_blacklist_entry(db, CLEAN["id_number"])
    page = client.get(f"/v/{token}")
    assert BeautifulSoup(page.data, "html.parser").h1.get_text(strip=True) == "Not valid"
    assert verdict_of(client, token) == "not_valid"
    assert [s["verdict"] for s in scans(db, certificate["id"])][:2] == ["restricted", "restricted"]


def test_on_screen_token_is_accepted_for_90_seconds_only(app, client):
    token = token_for(app, issue_certificate(app))
    app.config["NOW"] = T0 + timedelta(seconds=90)
    assert verdict_of(client, token) == "valid"
    app.config["NOW"] = T0 + timedelta(seconds=91)
    assert verdict_of(client, token) == "expired"
    page = client.get(f"/v/{token}")
    assert "Expired: ask the holder for a new one" in page.get_data(as_text=True)


def test_printed_token_lasts_until_expiry_then_expires(app, client):
    certificate = issue_certificate(app, days=1)
    token = token_for(app, certificate, kind=tokens.PRINT)
    app.config["NOW"] = T0 + timedelta(hours=23, minutes=59)
    assert verdict_of(client, token) == "valid"
    app.config["NOW"] = T0 + timedelta(days=1)
    assert verdict_of(client, token) == "expired"
    app.config["NOW"] = T0 + timedelta(days=30)
    assert verdict_of(client, token) == "expired"


def test_revoked_certificate_is_not_valid_for_every_token(app, client, auth, db):
    certificate = issue_certificate(app)
    screen, printed = token_for(app, certificate), token_for(app, certificate, tokens.PRINT)
    auth.login("clean")
    response = client.post(f"/certificates/{certificate['id']}/revoke")
    assert response.status_code == 303
    assert verdict_of(client, screen) == "not_valid"
    assert verdict_of(client, printed) == "not_valid"
    assert [s["verdict"] for s in scans(db, certificate["id"])] == ["revoked", "revoked"]


def test_a_flipped_character_anywhere_is_not_valid(app, client):
    token = token_for(app, issue_certificate(app))
    assert verdict_of(client, token) == "valid"
    for i, char in enumerate(token):
        replacement = "A" if char != "A" else "B"
        flipped = token[:i] + replacement + token[i + 1:]
        assert verdict_of(client, flipped) == "not_valid", f"position {i} still verified"


def test_token_signed_with_another_secret_is_not_valid(app, client):
    certificate = issue_certificate(app)
    assert verdict_of(client, token_for(app, certificate, keys=["someone-else"])) == "not_valid"


def test_token_with_another_salt_is_not_valid(app, client):
    certificate = issue_certificate(app)

    class SignerAtT0(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(T0.timestamp())

    other = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="other-salt",
                                   signer=SignerAtT0,
                                   signer_kwargs={"digest_method": hashlib.sha256})
    assert verdict_of(client, other.dumps({"c": certificate["id"], "k": "s"})) == "not_valid"


@pytest.mark.parametrize("cut", [1, 10, 44])
def test_truncated_token_is_not_valid(app, client, cut):
    token = token_for(app, issue_certificate(app))
    assert verdict_of(client, token[:-cut]) == "not_valid"


def test_empty_token_is_not_valid(client):
    assert client.get("/api/v1/verify/").json["verdict"] == "not_valid"
    page = client.get("/v/")
    assert page.status_code == 200
    assert "Not valid" in page.get_data(as_text=True)


def test_ten_kilobytes_of_junk_is_not_valid(client):
    junk = "A" * 10240
    assert verdict_of(client, junk) == "not_valid"
    assert client.get(f"/v/{junk}").status_code == 200


@pytest.mark.parametrize("raw", [
    "中文令牌", "%E4%B8%AD.%E6%96%87.x", "%00%FF", "abc%2Fdef%2F..%2F", "%25%25", "a b.c",
])
def test_non_ascii_and_percent_encoded_input_is_not_valid(client, raw):
    assert client.get(f"/api/v1/verify/{quote(raw, safe='%/')}").json["verdict"] == "not_valid"
    page = client.get(f"/v/{quote(raw, safe='%/')}")
    assert page.status_code == 200
    assert BeautifulSoup(page.data, "html.parser").h1.get_text(strip=True) == "Not valid"


def test_token_from_before_a_key_rotation_verifies_while_its_secret_is_listed(app_with):
    old_app = app_with(CERTIFICATE_SECRETS=["old-secret"])
    certificate = issue_certificate(old_app)
    old_token = token_for(old_app, certificate, tokens.PRINT, keys=["old-secret"])
    rotated = app_with(CERTIFICATE_SECRETS=["new-secret", "old-secret"])
    assert verdict_of(rotated.test_client(), old_token) == "valid"
    # New tokens are signed with the newest secret.
    with rotated.test_request_context():
        from credit_self.certificates.views import secret_keys

        new_token = tokens.make_token(secret_keys(), certificate["id"], tokens.PRINT, T0)
    retired = app_with(CERTIFICATE_SECRETS=["new-secret"])
    assert verdict_of(retired.test_client(), old_token) == "not_valid"
    assert verdict_of(retired.test_client(), new_token) == "valid"


def test_secrets_setting_falls_back_to_the_secret_key(app, client):
    token = token_for(app, issue_certificate(app), keys=["test-secret"])
    assert verdict_of(client, token) == "valid"


def test_unreadable_database_cannot_confirm(tmp_path, app, database_url):
    certificate = issue_certificate(app)
    token = token_for(app, certificate)
    broken = make_test_app(unreadable_database_url(tmp_path, database_url), NOW=T0)
    client = broken.test_client()
    api = client.get(f"/api/v1/verify/{token}")
    assert api.status_code == 503
    assert api.json == {"verdict": "unavailable", "checked_at": "2026-03-10T02:00:00+00:00"}
    page = client.get(f"/v/{token}")
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "Cannot confirm right now" in text and "Valid:" not in text
    engine_for(broken).dispose()


def test_no_verdict_reveals_full_identity_entries_or_scores(app, client, db):
    certificate = issue_certificate(app)
    fresh = token_for(app, certificate)
    answers = [client.get(f"/v/{fresh}"), client.get(f"/api/v1/verify/{fresh}")]
    app.config["NOW"] = T0 + timedelta(minutes=5)
    answers += [client.get(f"/v/{fresh}"), client.get(f"/api/v1/verify/{fresh}")]  # expired
    add_blacklist_entry(db, CLEAN["id_number"])
    printed = token_for(app, certificate, tokens.PRINT)
    answers += [client.get(f"/v/{printed}"), client.get(f"/api/v1/verify/{printed}")]
    forbidden = [CLEAN["id_number"], CLEAN["name"], "1990-03-15", "15 March 1990", "19900315",
                 "TEST-CERT-1", "restricted_consumption", "You cannot buy air tickets",
                 "Score:", "points"]
    for answer in answers:
        body = answer.get_data(as_text=True)
        for secret in forbidden:
            assert secret not in body, f"{secret!r} disclosed"


def test_every_not_valid_reason_renders_the_same_verdict_section(app, client, db):
    revoked = issue_certificate(app)
    restricted = issue_certificate(app, who="expired_only")
    store.revoke(db, CLEAN["id_number"], revoked["id"], T0.isoformat())
    add_blacklist_entry(db, persona("expired_only")["id_number"])
    good = token_for(app, issue_certificate(app))
    unknown = tokens.make_token([app.config["SECRET_KEY"]], "no-such-certificate", "s", T0)
    inputs = {
        "revoked": token_for(app, revoked),
        "restricted": token_for(app, restricted),
        "bad signature": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "malformed": "not-a-token",
        "unknown": unknown,
        "other secret": token_for(app, revoked, keys=["other"]),
    }
    sections = {name: verdict_section(client.get(f"/v/{t}").get_data(as_text=True))
                for name, t in inputs.items()}
    assert len(set(sections.values())) == 1, sections
    assert "Not valid" in sections["revoked"]
    bodies = {client.get(f"/api/v1/verify/{t}").get_data() for t in inputs.values()}
    assert len(bodies) == 1


def test_each_scan_adds_exactly_one_scan_log_row(app, client, db):
    certificate = issue_certificate(app)
    token = token_for(app, certificate)
    client.get(f"/v/{token}", headers={"User-Agent": "Mozilla/5.0 (iPhone) Version/17 Mobile Safari/604.1"})
    assert len(scans(db, certificate["id"])) == 1
    client.get(f"/api/v1/verify/{token}", headers={"User-Agent": "Mozilla/5.0 MicroMessenger/8.0"})
    assert len(scans(db, certificate["id"])) == 2
    app.config["NOW"] = T0 + timedelta(seconds=120)
    client.get(f"/v/{token}")
    rows = scans(db, certificate["id"])
    assert [(r["verdict"], r["browser_family"]) for r in rows] == [
        ("expired", "Other"), ("valid", "WeChat"), ("valid", "Safari")]
    # A forged token names no certificate: nothing is logged against any holder.
    client.get(f"/v/{token[:-2]}xx")
    assert len(scans(db, certificate["id"])) == 3


def test_simultaneous_scans_are_each_logged_and_audited(app, db):
    """Verifiers scanning at the same moment (a threaded server): no scan is lost, each is
    an audited read of the holder's record at the time of the scan, the chain stays whole."""
    certificate = issue_certificate(app)
    token = token_for(app, certificate, kind=tokens.PRINT)
    before = last_audit_seq(db)
    with ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(pool.map(lambda _: verdict_of(app.test_client(), token), range(24)))
    assert verdicts == ["valid"] * 24
    assert store.scan_history(db, certificate["id"])[1] == 24
    audited = db.query("SELECT at, subject FROM audit_log WHERE seq > ?"
                       " AND action = 'certificate_verified'", [before])
    assert audited == [{"at": T0.isoformat(), "subject": CLEAN["id_number"]}] * 24
    assert audit.verify(db).ok


def test_verification_is_rate_limited_per_address(app_with):
    app = app_with(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="3 per minute")
    client = app.test_client()
    for left in (2, 1, 0):
        answer = client.get("/api/v1/verify/junk")
        assert answer.status_code == 200
        assert answer.headers["X-RateLimit-Limit"] == "3"
        assert answer.headers["X-RateLimit-Remaining"] == str(left)
    limited = client.get("/api/v1/verify/junk")
    assert limited.status_code == 429
    assert limited.json["error"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60  # when the minute's window ends
    page = client.get("/v/junk")
    assert page.status_code == 429
    assert "Too many checks" in page.get_data(as_text=True)
    other = client.get("/api/v1/verify/junk", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200


def test_verify_page_is_public_and_has_security_headers(app, client):
    response = client.get("/v/anything")
    assert response.status_code == 200
    # The verdict page needs no script: it loads none, and its policy allows none.
    page = response.get_data(as_text=True)
    assert "<script" not in page and "htmx-config" not in page
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "nonce-" not in csp
    assert response.headers["Cache-Control"] == "no-store"


def test_verification_ignores_the_scanning_browsers_session(app, client, auth, db):
    # A verifier who happens to be signed in here scans anonymously: the session cookie
    # is neither read nor rewritten, and the page is the one everybody gets.
    certificate = issue_certificate(app)
    token = token_for(app, certificate, kind=tokens.PRINT)
    anonymous_page = app.test_client().get(f"/v/{token}").get_data(as_text=True)
    auth.login("defaulter")
    assert "Sign out" in client.get("/me").get_data(as_text=True)
    for path in (f"/v/{token}", f"/api/v1/verify/{token}", "/api/v1/openapi.json",
                 "/static/css/app.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path
        assert "Cookie" not in response.vary, path
        # Nor do they have htmx fragments to keep apart from pages in caches.
        assert "HX-Request" not in response.vary, path
        response.close()
    page = client.get(f"/v/{token}").get_data(as_text=True)
    assert "Sign out" not in page and "My record" not in page
    assert verdict_section(page) == verdict_section(anonymous_page)
    assert {scan["verdict"] for scan in scans(db, certificate["id"])} == {"valid"}
    # Still signed in everywhere else.
    assert client.get("/me").status_code == 200


def test_a_page_served_without_a_session_cannot_store_one(app):
    from flask import session

    with app.test_request_context("/v/anything"):
        assert not session and "_user_id" not in session
        with pytest.raises(RuntimeError, match="served without a session"):
            session["_user_id"] = "resident:1"
    with app.test_request_context("/me"):
        session["_user_id"] = "resident:1"  # every other page has its session


def test_openapi_document_describes_the_verify_endpoint(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    operation = doc["paths"]["/api/v1/verify/{token}"]["get"]
    assert set(operation["responses"]) >= {"200", "503"}
    assert doc["components"]["schemas"]["Verdict"]["properties"]["verdict"]["enum"] == [
        "valid", "expired", "not_valid", "unavailable"]


# --------------------------------------------------------------------------- residents


def test_only_true_statements_can_be_issued_and_the_form_says_why(app, client, auth, db):
    app.config["NOW"] = None  # the seed dates the defaulter's entries from today
    auth.login("defaulter")
    soup = BeautifulSoup(client.get("/certificates").data, "html.parser")
    preset = soup.select_one("input[name=statements][value=no_blacklist]")
    assert preset.has_attr("disabled") and not preset.has_attr("checked")
    reason = soup.select_one(f"#{preset['aria-describedby']}")
    assert "Not true today, because of:" in reason.get_text()
    assert reason.select("a[href^='/me/entries/']"), "each blocking entry is linked"
    # The defaulter's railway record is clean: that statement can still be chosen.
    railway = soup.select_one("input[name=statements][value=no_railway_misconduct]")
    assert not railway.has_attr("disabled")
    response = client.post("/certificates", data={
        "statements": ["no_blacklist", "no_railway_misconduct"], "purpose": "rental",
        "hours": "72"})
    assert response.status_code == 200
    summary = BeautifulSoup(response.data, "html.parser").select(".error-summary__list a")
    assert [a.get_text(strip=True) for a in summary] == [
        "Not true today, so it cannot be issued: No active blacklist entry at all"]
    assert summary[0]["href"] == "#statements"
    assert db.scalar("SELECT COUNT(*) FROM certificates WHERE id_number = ?",
                     [persona("defaulter")["id_number"]]) == 0
    response = client.post("/certificates", data={
        "statements": ["no_railway_misconduct"], "purpose": "bidding", "hours": "1"})
    assert response.status_code == 303
    [row] = db.query("SELECT statements, purpose, issued_at, expires_at FROM certificates"
                     " WHERE id_number = ?", [persona("defaulter")["id_number"]])
    assert (row["statements"], row["purpose"]) == ("no_railway_misconduct", "bidding")
    lasted = datetime.fromisoformat(row["expires_at"]) - datetime.fromisoformat(row["issued_at"])
    assert lasted == timedelta(hours=1)


def test_each_statement_fails_online_only_when_its_own_list_is_active(app, client, db):
    railway = issue_certificate(app, chosen=("no_railway_misconduct",))
    everything = issue_certificate(app, chosen=("no_blacklist", "no_railway_misconduct"))
    consumption = issue_certificate(app, chosen=("no_restricted_consumption",))
    railway_token, everything_token, consumption_token = (
        token_for(app, c) for c in (railway, everything, consumption))
    add_blacklist_entry(db, CLEAN["id_number"])  # restricted_consumption
    assert verdict_of(client, railway_token) == "valid"
    assert verdict_of(client, everything_token) == "not_valid"
    assert verdict_of(client, consumption_token) == "not_valid"
    body = client.get(f"/api/v1/verify/{railway_token}").json
    assert body["statements"] == ["no_railway_misconduct"]
    page = BeautifulSoup(client.get(f"/v/{railway_token}").data, "html.parser")
    assert [li.get_text(strip=True) for li in page.select(".verdict__statements li")] == [
        "No active railway misconduct listing"]


@pytest.mark.parametrize("data, message", [
    ({"statements": []}, "Select at least one statement"),
    ({"statements": ["no_blacklist", "no_such_statement"]}, "Select at least one statement"),
    ({"statements": ["no_blacklist"], "hours": "2161"}, "Select how long the certificate lasts"),
])
def test_forged_statements_and_validity_are_refused(app, client, auth, db, data, message):
    auth.login("clean")
    response = client.post("/certificates", data={"statements": "no_blacklist", "purpose": "rental", "hours": "72", **data})
    summary = BeautifulSoup(response.data, "html.parser").select(".error-summary__list a")
    assert [a.get_text(strip=True) for a in summary] == [message]
    assert db.count("certificates") == 1  # the demo certificate only


def test_a_verifier_may_declare_who_and_why_and_the_holder_sees_it(app, client, auth, db):
    certificate = issue_certificate(app)
    token = token_for(app, certificate)
    page = BeautifulSoup(client.get(f"/v/{token}").data, "html.parser")
    form = page.select_one("form[method=get]")
    assert {i["name"] for i in form.select("input")} == {"who", "why"}
    response = client.get(f"/v/{token}", query_string={"who": " Wang  Li, landlord ",
                                                       "why": "Tenancy of Flat 3"})
    assert response.status_code == 200
    assert client.get(f"/api/v1/verify/{token}?who=Acme%20HR").json["verdict"] == "valid"
    assert [(s["declared_who"], s["declared_why"]) for s in scans(db, certificate["id"])] == [
        ("Acme HR", None), ("Wang Li, landlord", "Tenancy of Flat 3"), (None, None)]
    auth.login("clean")
    log = BeautifulSoup(client.get(f"/certificates/{certificate['id']}").data, "html.parser")
    cells = [row.select("td")[-1].get_text(strip=True) for row in log.select(".scan-log tbody tr")]
    assert cells[:3] == ["Acme HR", "Wang Li, landlord: Tenancy of Flat 3", "Nothing"]


def test_a_declaration_over_80_characters_is_refused_and_nothing_is_checked(app, client, db):
    certificate = issue_certificate(app)
    token = token_for(app, certificate)
    page = client.get(f"/v/{token}", query_string={"who": "x" * 81})
    assert page.status_code == 400
    summary = BeautifulSoup(page.data, "html.parser").select(".error-summary__list a")
    assert [a.get_text(strip=True) for a in summary] == [
        "Who you are must be 80 characters or fewer"]
    api = client.get(f"/api/v1/verify/{token}", query_string={"why": "y" * 81})
    assert api.status_code == 400 and api.json["error"] == "invalid_declaration"
    assert scans(db, certificate["id"]) == []


def test_issue_creates_a_certificate_with_the_chosen_details(app, client, auth, db):
    auth.login("clean")
    page = client.get("/certificates")
    chosen = BeautifulSoup(page.data, "html.parser").select("input[name=hours][checked]")
    assert [radio["value"] for radio in chosen] == ["72"], "3 days is chosen to begin with"
    before = last_audit_seq(db)
    response = client.post("/certificates", data={"statements": "no_blacklist", "purpose": "employment", "audience": "  Acme   HR ", "hours": "168"})
    assert response.status_code == 303
    [row] = db.query("SELECT id, purpose, audience, issued_at, expires_at FROM certificates"
                     " WHERE issued_at = ?", [T0.isoformat()])
    assert response.headers["Location"] == f"/certificates/{row['id']}"
    assert (row["purpose"], row["audience"], row["issued_at"], row["expires_at"]) == (
        "employment", "Acme HR", "2026-03-10T02:00:00+00:00", "2026-03-17T02:00:00+00:00")
    assert len(row["id"]) >= 20
    assert audit_actions_after(db, before, "certificate_issued") == [
        {"subject": CLEAN["id_number"]}]
    shown = client.get(f"/certificates/{row['id']}").get_data(as_text=True)
    assert "陈*" in shown and "3101**********9020" in shown and "Acme HR" in shown


def test_issue_form_errors_follow_the_govuk_pattern(app, client, auth, db):
    auth.login("clean")
    before = db.count("certificates")
    response = client.post("/certificates", data={"statements": "no_blacklist", "purpose": "", "audience": "x" * 81, "hours": "5"})
    assert response.status_code == 200
    soup = BeautifulSoup(response.data, "html.parser")
    assert soup.title.get_text().startswith("Error:")
    summary = [a.get_text(strip=True) for a in soup.select(".error-summary__list a")]
    assert summary == ["Select what the certificate is for",
                       "Who it is for must be 80 characters or fewer",
                       "Select how long the certificate lasts"]
    assert db.count("certificates") == before


def test_certificate_page_qr_holds_a_screen_token_and_refreshes(app, client, auth, db):
    auth.login("clean")
    client.post("/certificates", data={"statements": "no_blacklist", "purpose": "rental", "hours": "72"})
    certificate_id = db.scalar("SELECT id FROM certificates WHERE issued_at = ?", [T0.isoformat()])
    page = client.get(f"/certificates/{certificate_id}").get_data(as_text=True)
    soup = BeautifulSoup(page, "html.parser")
    qr = soup.select_one("#certificate-qr")
    assert qr["hx-trigger"] == "every 30s" and qr["hx-get"] == f"/certificates/{certificate_id}/qr"
    first_url = soup.select_one("[data-qr-url]").get_text(strip=True)
    assert first_url.startswith("http://localhost/v/")
    assert soup.select_one("#certificate-clock").get_text() == "10:00:00"
    app.config["NOW"] = T0 + timedelta(seconds=30)
    partial = client.get(f"/certificates/{certificate_id}/qr", headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True)
    second_url = BeautifulSoup(partial.data, "html.parser").select_one("[data-qr-url]").get_text(strip=True)
    assert second_url != first_url
    # Without htmx the QR URL leads back to the full page.
    assert client.get(f"/certificates/{certificate_id}/qr").status_code == 303


def test_public_base_url_overrides_the_host_in_the_qr(app_with):
    app = app_with(PUBLIC_BASE_URL="https://check.example.cn/")
    certificate = issue_certificate(app)
    client = app.test_client()
    client.post("/login", data={"id_number": CLEAN["id_number"], "password": CLEAN["password"]})
    page = client.get(f"/certificates/{certificate['id']}/print")
    url = BeautifulSoup(page.data, "html.parser").select_one("[data-qr-url]").get_text(strip=True)
    assert url.startswith("https://check.example.cn/v/")


def test_printable_version_carries_a_token_for_the_whole_life(app, client, auth):
    certificate = issue_certificate(app, days=7)
    auth.login("clean")
    page = client.get(f"/certificates/{certificate['id']}/print").get_data(as_text=True)
    assert "This printed code works until 17 March 2026, 10:00" in page
    url = BeautifulSoup(page, "html.parser").select_one("[data-qr-url]").get_text(strip=True)
    token = url.rsplit("/v/", 1)[1]
    app.config["NOW"] = T0 + timedelta(days=6, hours=23)
    assert verdict_of(client, token) == "valid"


def test_list_shows_status_and_revoke_swaps_the_row_with_htmx(app, client, auth, db):
    valid = issue_certificate(app)
    app.config["NOW"] = T0 - timedelta(days=10)
    expired = issue_certificate(app, days=1)
    app.config["NOW"] = T0
    auth.login("clean")
    soup = BeautifulSoup(client.get("/certificates").data, "html.parser")
    assert soup.select_one(f"#certificate-{valid['id']} .tag").get_text(strip=True) == "Valid"
    assert soup.select_one(f"#certificate-{expired['id']} .tag").get_text(strip=True) == "Expired"
    before = last_audit_seq(db)
    response = client.post(f"/certificates/{valid['id']}/revoke", headers={"HX-Request": "true"})
    assert response.status_code == 200
    row = BeautifulSoup(response.data, "html.parser").select_one(f"#certificate-{valid['id']}")
    assert row.select_one(".tag").get_text(strip=True) == "Revoked"
    assert not row.select("form")
    assert db.scalar("SELECT revoked_at FROM certificates WHERE id = ?", [valid["id"]])
    assert audit_actions_after(db, before, "certificate_revoked") == [
        {"subject": CLEAN["id_number"]}]


def test_revoke_needs_a_csrf_token(csrf_app):
    csrf_app.config["NOW"] = T0
    certificate = issue_certificate(csrf_app)
    client = csrf_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"id_number": CLEAN["id_number"], "password": CLEAN["password"],
                                "csrf_token": csrf})
    assert client.post(f"/certificates/{certificate['id']}/revoke").status_code == 400
    page = client.get("/certificates").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/certificates/{certificate['id']}/revoke",
                       data={"csrf_token": csrf}).status_code == 303


def test_scan_log_shows_each_outcome_to_the_holder(app, client, auth):
    certificate = issue_certificate(app)
    token = token_for(app, certificate)
    client.get(f"/v/{token}", headers={"User-Agent": "Mozilla/5.0 Firefox/120.0"})
    app.config["NOW"] = T0 + timedelta(minutes=3)
    client.get(f"/v/{token}")
    auth.login("clean")
    soup = BeautifulSoup(client.get(f"/certificates/{certificate['id']}").data, "html.parser")
    rows = [[td.get_text(strip=True) for td in tr.select("td")] for tr in soup.select("table tbody tr")]
    assert rows == [["10 March 2026, 10:03", "Expired", "Other", "Nothing"],
                    ["10 March 2026, 10:00", "Valid", "Firefox", "Nothing"]]


@pytest.mark.parametrize("method, path", [
    ("get", "/certificates/{id}"),
    ("get", "/certificates/{id}/print"),
    ("get", "/certificates/{id}/qr"),
    ("post", "/certificates/{id}/revoke"),
])
def test_a_resident_cannot_see_or_revoke_another_residents_certificate(app, client, auth, db, method, path):
    certificate = issue_certificate(app)
    auth.login("defaulter")
    before = last_audit_seq(db)
    headers = {"HX-Request": "true"} if path.endswith("/qr") else {}
    response = getattr(client, method)(path.format(id=certificate["id"]), headers=headers)
    assert response.status_code == 404
    assert CLEAN["id_number"][-4:] not in response.get_data(as_text=True)
    assert db.scalar("SELECT revoked_at FROM certificates WHERE id = ?", [certificate["id"]]) is None
    assert audit_actions_after(db, before, "certificate_read_refused") == [
        {"subject": persona("defaulter")["id_number"]}]  # the prober, not the holder
    assert certificate["id"] not in client.get("/certificates").get_data(as_text=True)


def test_certificate_pages_need_a_resident(client):
    assert client.get("/certificates").status_code == 302


def test_a_much_scanned_certificate_shows_the_latest_50_checks(app, client, auth):
    certificate = issue_certificate(app)
    token = token_for(app, certificate, kind=tokens.PRINT)
    verifier = app.test_client()
    for _ in range(55):
        assert verdict_of(verifier, token) == "valid"
    auth.login("clean")
    page = BeautifulSoup(client.get(f"/certificates/{certificate['id']}").get_data(as_text=True), "html.parser")
    assert len(page.select("table.scan-log tbody tr")) == 50
    assert "Showing the latest 50 of 55 checks" in page.get_text()


def test_each_verification_shows_in_the_holders_access_log(app, client, auth):
    certificate = issue_certificate(app)
    assert verdict_of(app.test_client(), token_for(app, certificate, kind=tokens.PRINT)) == "valid"
    auth.login("clean")
    text = BeautifulSoup(client.get("/me/access").get_data(as_text=True), "html.parser").get_text()
    assert "verified a certificate" in text


# ------------------------------------------------------------ offline credentials


@pytest.fixture
def offline_app(app_with, tmp_path):
    """The app with its own issuer key directory and a public address."""
    return app_with(CERTIFICATE_ISSUER_KEY_DIR=str(tmp_path / "keys"),
                    PUBLIC_BASE_URL="https://credit.example")


def issue_offline(client, chosen=("no_blacklist",)):
    """Sign in as `clean` and issue an offline report through the form; its page, its
    id, its SD-JWT."""
    AuthActions(client).login("clean")
    response = client.post("/certificates", data={
        "statements": list(chosen), "purpose": "rental", "hours": "24", "mode": "offline"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    soup = BeautifulSoup(page.data, "html.parser")
    return soup, response.headers["Location"].rsplit("/", 1)[1], soup.select_one("#sd-jwt").get_text()


def jwks_keys(client):
    return [issuer_keys.IssuerKey(k["kid"], None, jwk.JWK(**k))
            for k in client.get("/.well-known/jwks.json").json["keys"]]


def test_jwks_lists_the_ed25519_issuer_key_kept_private_on_disk(offline_app, tmp_path):
    client = offline_app.test_client()
    response = client.get("/.well-known/jwks.json")
    [key] = response.json["keys"]
    assert (key["kty"], key["crv"]) == ("OKP", "Ed25519") and key["kid"] and key["x"]
    [path] = (tmp_path / "keys").glob("*.pem")
    assert path.stat().st_mode & 0o777 == 0o600


def test_rotation_keeps_the_old_key_listed_until_its_credentials_expire(tmp_path):
    key_dir = tmp_path / "keys"
    issuer_keys.create(key_dir, T0)
    issuer_keys.create(key_dir, T0 + timedelta(days=10))
    keys = issuer_keys.load(key_dir, T0)
    assert keys[0].created > keys[1].created, "the newest signs"
    longest = store.LONGEST_VALIDITY
    listed = issuer_keys.published(keys, T0 + timedelta(days=10) + longest - timedelta(seconds=1), longest)
    assert [k.kid for k in listed] == [k.kid for k in keys]
    later = issuer_keys.published(keys, T0 + timedelta(days=10) + longest, longest)
    assert [k.kid for k in later] == [keys[0].kid]


def test_offline_report_shows_its_sd_jwt_next_to_a_qr_of_the_verify_url(offline_app):
    client = offline_app.test_client()
    soup, certificate_id, compact = issue_offline(client, ("no_blacklist", "no_railway_misconduct"))
    qr = soup.select_one("#certificate-qr")
    assert not qr.has_attr("hx-get"), "an offline QR does not refresh"
    assert qr.select_one("svg") and qr.select_one("#sd-jwt")
    jwt, *disclosures = compact.split("~")
    assert disclosures[-1] == "" and len(disclosures) == 3
    header = json.loads(credentials.b64url_decode(jwt.split(".")[0]))
    assert header["typ"] == "dc+sd-jwt" and header["alg"] == "EdDSA"
    payload, disclosed = credentials.verify(compact, jwks_keys(client))
    assert disclosed == {"no_blacklist": True, "no_railway_misconduct": True}
    assert (payload["name_masked"], payload["id_masked"], payload["purpose"]) == (
        "陈*", "3101**********9020", "rental")
    assert payload["exp"] - payload["iat"] == 24 * 3600
    assert payload["status"]["status_list"]["uri"].startswith("https://credit.example/status/")
    assert "陈" + CLEAN["id_number"] not in compact
    page_text = soup.get_text()
    assert "Online, logged" in page_text and "may not know yet" in page_text


def test_a_dropped_disclosure_still_verifies_and_a_changed_one_does_not(offline_app):
    client = offline_app.test_client()
    _soup, _id, compact = issue_offline(client, ("no_blacklist", "no_railway_misconduct"))
    jwt, first_disclosure, _second, _end = compact.split("~")
    _payload, disclosed = credentials.verify(f"{jwt}~{first_disclosure}~", jwks_keys(client))
    assert len(disclosed) == 1
    forged = credentials.disclosure("no_aviation_misconduct", True)
    with pytest.raises(credentials.NotValid):
        credentials.verify(f"{jwt}~{forged}~", jwks_keys(client))


def status_bit(client, compact):
    payload, _ = credentials.verify(compact, jwks_keys(client))
    reference = payload["status"]["status_list"]
    path = reference["uri"].removeprefix("https://credit.example")
    response = client.get(path)
    assert response.mimetype == "application/statuslist+jwt"
    bit, listed = credentials.status_of(response.get_data(as_text=True), jwks_keys(client),
                                        reference["idx"])
    return bit, listed


def test_revoking_flips_the_status_bit_in_the_next_list_at_once(offline_app):
    client = offline_app.test_client()
    _soup, certificate_id, compact = issue_offline(client)
    bit, listed = status_bit(client, compact)
    assert bit == 0 and listed["iat"] == int(T0.timestamp()) and listed["ttl"] == 300
    client.post(f"/certificates/{certificate_id}/revoke")
    bit, _listed = status_bit(client, compact)
    assert bit == 1


def test_a_new_restriction_flips_the_bit_within_five_minutes(offline_app, db):
    client = offline_app.test_client()
    _soup, _id, compact = issue_offline(client)
    assert status_bit(client, compact)[0] == 0
    add_blacklist_entry(db, CLEAN["id_number"])
    offline_app.config["NOW"] = T0 + timedelta(minutes=4)
    assert status_bit(client, compact)[0] == 0, "the list made at T0 is still served"
    offline_app.config["NOW"] = T0 + timedelta(minutes=5)
    bit, listed = status_bit(client, compact)
    assert bit == 1 and listed["iat"] == int((T0 + timedelta(minutes=5)).timestamp())


def test_an_unknown_status_list_is_404(client):
    assert client.get("/status/nope").status_code == 404


def test_verify_page_registers_its_service_worker_and_may_use_the_camera(offline_app, db):
    client = offline_app.test_client()
    issue_offline(client)
    client.get("/logout")
    page = client.get("/verify")
    assert page.status_code == 200
    assert page.headers.getlist("Permissions-Policy") == [
        "camera=(self), microphone=(), geolocation=()"]
    soup = BeautifulSoup(page.data, "html.parser")
    config = json.loads(soup.select_one("#verifier-config").string)
    assert config["serviceWorker"] == "/verify-sw.js" and config["scope"] == "/verify"
    [status_list] = config["statusLists"]
    assert status_list.startswith("/status/")
    assert [s["src"].split("?")[0] for s in soup.select("script[src]")] == ["/static/js/offline-verifier.js"]
    assert not soup.select("textarea[name]"), "a pasted credential is never submitted"
    worker = client.get("/verify-sw.js")
    assert worker.mimetype == "text/javascript" and b"addEventListener(\"fetch\"" in worker.data
    assert client.get("/certificates").headers["Permissions-Policy"].startswith("camera=()")


def test_a_listing_through_the_records_flips_the_bit_in_the_very_next_list(offline_app, db):
    client = offline_app.test_client()
    _soup, _id, compact = issue_offline(client, ("no_aviation_misconduct",))
    assert status_bit(client, compact)[0] == 0
    with write_transaction(db.connection):
        entries.add_entries(db.connection, [{
            "list_code": "aviation_misconduct", "id_number": CLEAN["id_number"],
            "tier": "general", "document_no": "TEST-AIR-1", "listed_on": "2026-03-01",
            "expires_on": None, "status": "listed"}], "test", T0.isoformat(), "test")
    assert status_bit(client, compact)[0] == 1, "no five-minute wait after an entry_changed"


@pytest.mark.parametrize("language, heading", [("en", "Special credit report"),
                                               ("zh_CN", "专项信用报告")])
def test_report_pdf_is_a4_in_the_readers_language_with_cjk_fonts_embedded(
        offline_app, language, heading):
    client = offline_app.test_client()
    _soup, certificate_id, compact = issue_offline(client)
    client.set_cookie("lang", language)
    response = client.get(f"/certificates/{certificate_id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    page = reader.pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)
    text = "".join(p.extract_text() for p in reader.pages)
    assert heading in text and "陈*" in text
    assert compact[:40] in text.replace("\n", "")
    fonts = {font["/BaseFont"] for p in reader.pages
             for font in p["/Resources"]["/Font"].values()
             if "/FontFile2" in font["/DescendantFonts"][0]["/FontDescriptor"]
             or "/FontFile3" in font["/DescendantFonts"][0]["/FontDescriptor"]}
    assert any("Noto-Sans-CJK" in name for name in fonts), fonts


def test_rotate_issuer_key_command_publishes_both_keys(offline_app):
    client = offline_app.test_client()
    before = [k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]]
    offline_app.config["NOW"] = T0 + timedelta(seconds=1)  # key files are named by second
    result = offline_app.test_cli_runner().invoke(args=["certificates", "rotate-issuer-key"])
    assert result.exit_code == 0, result.output
    after = [k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]]
    assert len(after) == 2 and after[1:] == before and after[0] in result.output


def test_printable_offline_report_carries_the_credential_not_a_live_token(offline_app):
    client = offline_app.test_client()
    _soup, certificate_id, compact = issue_offline(client)
    page = BeautifulSoup(client.get(f"/certificates/{certificate_id}/print").data, "html.parser")
    assert page.select_one("[data-qr-url]").get_text(strip=True) == (
        f"https://credit.example/verify#{compact}")
    assert "check it live" not in page.get_text()


def test_an_index_taken_meanwhile_is_drawn_again(offline_app, db, monkeypatch):
    """What two issues at once on PostgreSQL can do: both draw one free index."""
    client = offline_app.test_client()
    _soup, first_id, _compact = issue_offline(client)
    taken = db.query("SELECT status_list, status_index FROM certificate_credentials"
                     " WHERE certificate_id = ?", [first_id])[0]
    draws = iter([(taken["status_list"], taken["status_index"])])
    original = store.allocate_status
    monkeypatch.setattr(store, "allocate_status",
                        lambda conn, at: next(draws, None) or original(conn, at))
    _soup, second_id, _compact = issue_offline(client)
    rows = db.query("SELECT status_list, status_index FROM certificate_credentials"
                    " ORDER BY status_index")
    assert len(rows) == 2 and len({(r["status_list"], r["status_index"]) for r in rows}) == 2


def test_the_holders_pages_say_what_a_verifier_would_be_told_after_a_new_listing(
        app, client, auth, db):
    """A department lists the holder after issue: the list, the page and the print
    version stop saying "Valid", hide the code and name the entry, as a scan would."""
    certificate = issue_certificate(app)
    token = token_for(app, certificate, kind=tokens.PRINT)
    auth.login("clean")
    pages = ["/certificates", f"/certificates/{certificate['id']}",
             f"/certificates/{certificate['id']}/print"]
    for path in pages:
        soup = BeautifulSoup(client.get(path).data, "html.parser")
        assert soup.select_one(".qr__image") or path == "/certificates", path
        assert "Not valid: restrictions apply" not in soup.get_text()
    assert verdict_of(client, token) == "valid"

    add_blacklist_entry(db, CLEAN["id_number"])
    assert verdict_of(client, token) == "not_valid"
    for path in pages:
        soup = BeautifulSoup(client.get(path).data, "html.parser")
        text = soup.get_text(" ", strip=True)
        assert "Not valid: restrictions apply" in text or path.endswith("/print"), path
        assert "is told it is not valid, because of: Restricted from high consumption" in text
        assert soup.select_one(".qr__image") is None, f"{path} still shows a code"
        tags = [tag.get_text(strip=True) for tag in soup.select(".tags")]
        assert "Valid" not in tags, f"{path} still says Valid"
    # Revoking stays possible while it is restricted.
    page = BeautifulSoup(client.get(f"/certificates/{certificate['id']}").data, "html.parser")
    assert page.find("a", string=re.compile("Revoke"))
