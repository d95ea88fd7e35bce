"""Administration: list feed imports, audit log viewer, staff accounts, role checks."""
import io
from datetime import date

import pytest

from credit_self import audit
from credit_self.identity import with_check_digit
from credit_self.transparency import imports
from tests.conftest import ON_POSTGRESQL, persona, staff_login

HEADER = "id_number,name,facts,document_no,listed_on,expires_on,source_agency\n"
DEFAULTER = persona("defaulter")
CLEAN = persona("clean")
TODAY = date(2026, 1, 1)


def _csv(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


def _row(who=CLEAN, doc="（2025）沪0101执1号", listed="2025-03-01", expires="", name=None, facts="未履行"):
    return f"{who['id_number']},{name or who['name']},{facts},{doc},{listed},{expires},上海市黄浦区人民法院"


def _bad_checksum(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:17] + last


def _validate(db, text, list_code="judgment_defaulter"):
    return imports.validate(db, imports.read_csv(text), list_code, TODAY)


def _last_seq(db):
    """The newest audit row's number: the seeded log is not empty."""
    return db.scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_log")


# ---------------------------------------------------------------- validation


UNKNOWN_BUT_VALID = with_check_digit("11010119800101999")


@pytest.mark.parametrize(
    "line, reason",
    [
        (_row(doc=""), "missing_field"),
        (_row(name="x").replace(CLEAN["id_number"], _bad_checksum(CLEAN["id_number"]), 1), "id_invalid"),
        (f"{UNKNOWN_BUT_VALID},王五,事实,D-1,2025-01-01,,法院", "unknown_resident"),
        (_row(name="王二麻子"), "name_mismatch"),
        (_row(listed="2025-02-30"), "bad_date"),
        (_row(listed="20250301"), "bad_date"),  # a real date, but not written YYYY-MM-DD
        (_row(listed="2025-05-01", expires="2025-04-01"), "dates_out_of_order"),
        (_row(listed="2026-06-01"), "listed_in_future"),
    ],
)
def test_each_rejection_reason(db, line, reason):
    results = _validate(db, _csv(line, _row(doc="OK-1")))
    assert reason in results[0].errors
    assert results[1].ok  # the good row beside it is accepted


def test_unknown_list_duplicate_rows_and_document_of_another_person(db):
    assert _validate(db, _csv(_row()), "no_such_list")[0].errors == ["unknown_list"]
    results = _validate(db, _csv(_row(doc="D-9"), _row(doc="D-9")))
    assert results[0].ok and results[1].errors == ["duplicate_in_file"]
    existing = db.scalar(
        "SELECT document_no FROM entries WHERE id_number = ? AND list_code = 'judgment_defaulter'",
        [DEFAULTER["id_number"]],
    )
    assert _validate(db, _csv(_row(doc=existing)))[0].errors == ["document_other_person"]


def test_a_file_without_the_columns_is_refused_as_a_whole():
    with pytest.raises(imports.ImportFileError):
        imports.read_csv("id_number,name\n1,2\n")


# ---------------------------------------------------------------- importing (web)


def _upload(client, text, list_code="judgment_defaulter", name="feed.csv"):
    return client.post(
        "/admin/imports",
        data={"list_code": list_code, "feed": (io.BytesIO(text.encode("utf-8")), name)},
        content_type="multipart/form-data",
    )


def _entries(db, doc):
    return list(db.query("SELECT * FROM entries WHERE document_no = ?", [doc]))


def test_import_shows_accepted_and_rejected_rows_and_imports_partially_only_by_choice(client, db):
    staff_login(client, "superadmin")
    response = _upload(client, _csv(_row(doc="P-1"), _row(doc="P-2", name="王二麻子")))
    assert response.status_code == 303
    batch_url = response.headers["Location"]
    page = client.get(batch_url).get_data(as_text=True)
    assert "The name does not match the register for this ID number" in page
    assert "Import 1 valid row" in page
    assert not _entries(db, "P-1")  # nothing written before confirmation
    refused = client.post(batch_url + "/confirm", data={})
    assert refused.status_code == 200
    assert "tick the box to import only the valid rows" in refused.get_data(as_text=True)
    assert "<title>Error:" in refused.get_data(as_text=True)
    assert not _entries(db, "P-1")
    done = client.post(batch_url + "/confirm", data={"partial": "yes"})
    assert done.status_code == 303
    result = client.get(batch_url).get_data(as_text=True)
    assert "1 entries created, 0 updated" in result
    [entry] = _entries(db, "P-1")
    assert entry["id_number"] == CLEAN["id_number"] and entry["facts_zh"] == "未履行"
    assert entry["tier"] == "serious" and entry["recorded_sex"] == "F" and entry["status"] == "listed"
    assert not _entries(db, "P-2")
    history = list(db.query("SELECT * FROM entry_history WHERE entry_id = ?", [entry["id"]]))
    assert history[0]["field"] == "created" and batch_url.rsplit("/", 1)[1] in history[0]["reason"]


def test_a_clean_file_imports_without_the_checkbox_and_reimport_changes_nothing(client, db):
    staff_login(client, "superadmin")
    start = _last_seq(db)
    text = _csv(_row(doc="R-1"), _row(who=DEFAULTER, doc="R-2"))
    first = _upload(client, text).headers["Location"]
    client.post(first + "/confirm", data={})
    assert len(_entries(db, "R-1")) == 1 and len(_entries(db, "R-2")) == 1
    counts = [db.count(t) for t in ("entries", "entry_history")]
    second = _upload(client, text).headers["Location"]
    client.post(second + "/confirm", data={})
    assert [db.count(t) for t in ("entries", "entry_history")] == counts
    assert "0 entries created, 0 updated, 2 already up to date" in client.get(second).get_data(as_text=True)
    # A changed field updates the entry and names the batch in its history.
    third = _upload(client, _csv(_row(doc="R-1", facts="已部分履行"))).headers["Location"]
    client.post(third + "/confirm", data={})
    [entry] = _entries(db, "R-1")
    assert entry["facts_zh"] == "已部分履行"
    [change] = db.query("SELECT * FROM entry_history WHERE entry_id = ? AND field = 'facts_zh'", [entry["id"]])
    assert (change["old_value"], change["new_value"]) == ("未履行", "已部分履行")
    assert third.rsplit("/", 1)[1] in change["reason"]
    # Confirming the same batch twice does nothing more.
    client.post(third + "/confirm", data={})
    assert db.scalar("SELECT count(*) FROM entry_history WHERE entry_id = ?", [entry["id"]]) == 2
    # The bulk-written audit rows (one per created or changed entry) keep the chain whole.
    imported = db.query("SELECT subject FROM audit_log WHERE action = 'list_entry_imported' AND seq > ?",
                        [start])
    assert sorted(r["subject"] for r in imported) == sorted(
        [CLEAN["id_number"], DEFAULTER["id_number"], CLEAN["id_number"]])
    assert audit.verify(db).ok


def test_a_batch_is_imported_once_even_when_confirmed_twice_at_once(db):
    results = _validate(db, _csv(_row(doc="TWICE-1")))
    batch = imports.store_batch(db, results, "judgment_defaulter", "t.csv", "system:test", "2026-01-01T09:00:00")
    first = imports.apply_import(db, results, "judgment_defaulter", batch, "system:test",
                                 "2026-01-01T09:00:00", allow_partial=False)
    start = _last_seq(db)
    # The second confirmation got past the page's status check before the first committed.
    second = imports.apply_import(db, results, "judgment_defaulter", batch, "system:test",
                                  "2026-01-01T09:01:00", allow_partial=False)
    assert first.inserted == 1 and second is None
    assert _last_seq(db) == start
    assert db.query("SELECT inserted, imported_at FROM import_batches WHERE id = ?", [batch]) == [
        {"inserted": 1, "imported_at": "2026-01-01T09:00:00"}]


def test_upload_form_errors(client, db):
    staff_login(client, "superadmin")
    response = client.post("/admin/imports", data={"list_code": ""}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert "Select the list the file belongs to" in html and "Select a CSV file" in html
    html = _upload(client, "a,b\n1,2\n").get_data(as_text=True)
    assert "The file is missing columns" in html
    html = _upload(client, _csv(_row(facts='"left open'))).get_data(as_text=True)
    assert "The file is not a CSV file that can be read" in html
    for facts in ("x" * 10_001, "x" * 200_000):  # under and over the csv module's own limit
        html = _upload(client, _csv(_row(doc="OK-1"), _row(facts=facts))).get_data(as_text=True)
        assert "longer than 10,000 characters (row ending on line 3)" in html
    html = _upload(client, _csv(_row()), list_code="no_such_list").get_data(as_text=True)
    assert "Select the list the file belongs to" in html
    assert not db.count("import_batches")  # nothing was stored for any of them


def test_upload_needs_the_csrf_token(csrf_app):
    client = csrf_app.test_client()
    login = client.get("/admin/login").get_data(as_text=True)
    token = login.split('name="csrf_token" value="')[1].split('"')[0]
    from credit_self.seeding import DEMO_PASSWORD
    client.post("/admin/login", data={"username": "demo-superadmin", "password": DEMO_PASSWORD, "csrf_token": token})
    assert _upload(client, _csv(_row(doc="C-1"))).status_code == 400


def test_cli_import(app, db, tmp_path):
    feed = tmp_path / "feed.csv"
    feed.write_text(_csv(_row(doc="CLI-1"), _row(doc="CLI-2", name="王二麻子")), encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-list", str(feed), "--list", "judgment_defaulter"])
    assert result.exit_code != 0 and "nothing imported" in result.output
    assert not _entries(db, "CLI-1")
    result = runner.invoke(args=["import-list", str(feed), "--list", "judgment_defaulter", "--partial"])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output and len(_entries(db, "CLI-1")) == 1
    result = runner.invoke(args=["import-list", str(feed), "--list", "nope"])
    assert result.exit_code != 0 and "unknown list code" in result.output


# ---------------------------------------------------------------- audit viewer


def test_audit_viewer_filters_and_verifies(client, db):
    seq = audit.record(db, "reviewer:demo-reviewer", "correction_case_opened", DEFAULTER["id_number"])
    staff_login(client, "superadmin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert f"#{seq}" in page and 'href="/admin/audit/verify"' in page
    page = client.get("/admin/audit/verify").get_data(as_text=True)
    assert "The log verifies" in page and f"All {_last_seq(db)} rows link" in page
    page = client.get("/admin/audit?actor=reviewer:&action=correction_case_opened").get_data(as_text=True)
    assert page.count('class="card audit-item"') == 1 and DEFAULTER["id_number"] in page
    page = client.get(f"/admin/audit?subject={CLEAN['id_number']}&action=correction_case_opened").get_data(as_text=True)
    assert "No events match." in page
    page = client.get("/admin/audit?date_from=2026-13-01").get_data(as_text=True)
    assert "Enter the date as YYYY-MM-DD" in page and "<title>Error:" in page
    page = client.get("/admin/audit?date_to=20991231").get_data(as_text=True)
    assert "Enter the date as YYYY-MM-DD" in page
    page = client.get("/admin/audit?date_from=2999-01-01").get_data(as_text=True)
    assert "No events match." in page
    page = client.get("/admin/audit?date_to=9999-12-31&action=correction_case_opened").get_data(as_text=True)
    assert page.count('class="card audit-item"') == 1


def test_audit_viewer_detects_a_tampered_row(client, db, app):
    seq = audit.record(db, "reviewer:demo-reviewer", "correction_case_opened", DEFAULTER["id_number"])
    audit.record(db, "reviewer:demo-reviewer", "correction_decided", DEFAULTER["id_number"])
    # Get around the append-only trigger, as someone with the database could.
    if ON_POSTGRESQL:
        db.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
    else:
        db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("UPDATE audit_log SET actor = 'reviewer:someone-else' WHERE seq = ?", [seq])
    staff_login(client, "superadmin")
    page = client.get("/admin/audit/verify").get_data(as_text=True)
    assert "The log has been tampered with" in page and f"breaks at row {seq}" in page
    assert f"The {seq - 1} rows before it verify" in page
    assert app.test_cli_runner().invoke(args=["verify-audit"]).exit_code == 1


# ---------------------------------------------------------------- staff accounts


def _account_id(db, login):
    return db.execute("SELECT id FROM accounts WHERE login = ?", [login]).fetchone()[0]


def test_superadmin_creates_changes_and_disables_an_account(client, db):
    staff_login(client, "superadmin")
    response = client.post("/admin/accounts/new", data={
        "username": "shanghai-reviewer", "display_name": "Shanghai corrections office",
        "role": "reviewer", "pilot_code": "", "password": "long-enough-pw"})
    assert response.status_code == 303
    new_id = _account_id(db, "shanghai-reviewer")
    assert "shanghai-reviewer" in client.get("/admin/accounts").get_data(as_text=True)
    bad = client.post("/admin/accounts/new", data={
        "username": "shanghai-reviewer", "display_name": "", "role": "reviewer", "password": "long-enough-pw"})
    assert "An account with this user name already exists" in bad.get_data(as_text=True)
    assert client.post(f"/admin/accounts/{new_id}/role", data={"role": "pilot_admin", "pilot_code": ""}).status_code == 200
    client.post(f"/admin/accounts/{new_id}/role", data={"role": "pilot_admin", "pilot_code": "rongcheng"})
    assert db.execute("SELECT role, pilot_code FROM accounts WHERE id = ?", [new_id]).fetchone() == ("pilot_admin", "rongcheng")
    client.post(f"/admin/accounts/{new_id}/status", data={"disable": "yes"})
    assert db.execute("SELECT disabled_at FROM accounts WHERE id = ?", [new_id]).fetchone()[0]
    page = client.get(f"/admin/accounts/{new_id}").get_data(as_text=True)
    for action in ("staff_account_created", "staff_account_role_changed", "staff_account_disabled"):
        assert action in page


def test_superadmin_cannot_disable_themself_or_remove_the_last_superadmin(client, db):
    staff_login(client, "superadmin")
    me = _account_id(db, "demo-superadmin")
    html = client.post(f"/admin/accounts/{me}/status", data={"disable": "yes"}).get_data(as_text=True)
    assert "You cannot change or disable your own account" in html
    html = client.post(f"/admin/accounts/{me}/role", data={"role": "reviewer"}).get_data(as_text=True)
    assert "You cannot change or disable your own account" in html
    assert db.execute("SELECT role, disabled_at FROM accounts WHERE id = ?", [me]).fetchone() == ("superadmin", None)
    from credit_self.admin import staff
    with pytest.raises(staff.StaffAccountError) as problem:
        staff.set_disabled(db, me, True, actor_id=-1, actor="system:test", at="2026-01-01T00:00:00")
    assert problem.value.code == "last_superadmin"


def test_a_disabled_admin_cannot_sign_in_and_loses_their_session(app, db):
    reviewer = app.test_client()
    assert staff_login(reviewer, "reviewer").status_code == 303
    assert reviewer.get("/admin").status_code == 200
    reviewer_id = _account_id(db, "demo-reviewer")
    boss = app.test_client()
    staff_login(boss, "superadmin")
    boss.post(f"/admin/accounts/{reviewer_id}/status", data={"disable": "yes"})
    assert not db.scalar("SELECT count(*) FROM account_sessions WHERE account_id = ?", [reviewer_id])
    assert reviewer.get("/admin").status_code == 302  # signed out at the next request
    again = app.test_client()
    assert staff_login(again, "reviewer").status_code != 303
    assert again.get("/admin").status_code == 302


def test_a_session_of_an_account_disabled_outside_the_page_is_refused(app, db):
    pilot_admin = app.test_client()
    staff_login(pilot_admin, "pilot_admin")
    assert pilot_admin.get("/admin").status_code == 200
    # Disabled straight in the database: the session row is still there.
    db.execute("UPDATE accounts SET disabled_at = '2026-01-01T00:00:00' WHERE login = ?",
               ["demo-pilot-admin"])
    assert pilot_admin.get("/admin").status_code == 302


def test_create_admin_cli(app, db):
    result = app.test_cli_runner().invoke(args=[
        "create-admin", "--username", "cli-admin", "--role", "superadmin", "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    assert db.execute("SELECT role FROM accounts WHERE login = 'cli-admin'").fetchone() == ("superadmin",)


# ---------------------------------------------------------------- role matrix

ROLES = ("pilot_admin", "reviewer", "superadmin")
# Every /admin and /me route must be listed here, or follow a documented convention.
# Values: roles that get through (any status but 302/403); "resident" for /me pages.
EXPECTED = {
    "admin.home": ROLES,
    "admin.accounts": ("superadmin",),
    "admin.account_new": ("superadmin",),
    "admin.account_detail": ("superadmin",),
    "admin.account_role": ("superadmin",),
    "admin.account_status": ("superadmin",),
    "admin.account_second_factor_reset": ("superadmin",),
    "transparency_admin.imports": ("superadmin",),
    "transparency_admin.import_batch": ("superadmin",),
    "transparency_admin.import_confirm": ("superadmin",),
    "transparency_admin.audit_log": ("superadmin",),
    "transparency_admin.audit_verify": ("superadmin",),
    "transparency.access_log": ("resident",),
    "transparency.export": ("resident",),
    "transparency.export_download": ("resident",),
    "transparency.export_sqlite": ("resident",),
    "transparency.record_print": ("resident",),
    "transparency.record_pdf": ("resident",),
    "records.my_record": ("resident",),
    "records.entry_detail": ("resident",),
}
# The sign-in steps: the password, then the code (or enrolment at the first sign-in).
PUBLIC = {"auth.staff_login", "auth.staff_code", "auth.staff_enrol"}
# Routes of other capabilities are classified by convention when not listed above:
# a "<capability>_admin" blueprint is staff-only (residents 403, anonymous to staff sign-in,
# at least one staff role allowed); /me routes are resident-only (every staff role 403).
# A route that fits neither convention must be added to EXPECTED.
OWN_BLUEPRINTS = ("admin", "transparency", "transparency_admin", "records")


def _routes(app):
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/admin") or rule.rule.startswith("/me")):
            continue
        if rule.endpoint in PUBLIC:
            continue
        values = {arg: ("json" if arg == "fmt" else "1") for arg in rule.arguments}
        if "any(" in str(rule):
            values = {arg: "pause" if arg == "action" else "1" for arg in rule.arguments}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, values


def _expected(rule):
    if rule.endpoint in EXPECTED:
        return EXPECTED[rule.endpoint]
    blueprint = rule.endpoint.split(".")[0]
    assert blueprint not in OWN_BLUEPRINTS, f"classify {rule.endpoint} in EXPECTED"
    if blueprint.endswith("_admin") or blueprint == "admin":
        return None  # staff-only, roles decided by that capability
    assert rule.rule.startswith("/me"), f"classify {rule.endpoint} ({rule.rule}) in EXPECTED"
    return ("resident",)


def test_every_admin_and_resident_route_checks_the_role(app):
    from flask import url_for

    checked = 0
    for rule, method, values in _routes(app):
        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        expected = _expected(rule)
        anonymous = app.test_client().open(url, method=method)
        assert anonymous.status_code == 302, (url, method)
        is_staff_page = rule.rule.startswith("/admin")
        assert ("/admin/login" if is_staff_page else "/login") in anonymous.headers["Location"]
        resident = app.test_client()
        resident.post("/login", data={"id_number": DEFAULTER["id_number"], "password": DEFAULTER["password"]})
        status = resident.open(url, method=method).status_code
        if expected and "resident" in expected:
            assert status != 403 and status < 500, (url, method, "resident")
        else:
            assert status == 403, (url, method, "resident")
        allowed = []
        for role in ROLES:
            client = app.test_client()
            staff_login(client, role)
            response = client.open(url, method=method)
            status = response.status_code
            # A redirect elsewhere is allowed (e.g. to the pilot admin's own pilot);
            # a redirect to a sign-in page is not.
            assert "login" not in response.headers.get("Location", ""), (url, method, role)
            if status != 403:
                allowed.append(role)
        if expected is None:
            assert allowed, (url, method, "no staff role can use it")
        else:
            assert tuple(allowed) == tuple(r for r in ROLES if r in expected), (url, method, allowed)
        checked += 1
    assert checked >= len(EXPECTED)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_every_admin_page_passes_the_page_checks_in_both_languages(client, db, language):
    """CheckedClient validates each page: one h1, title, labels, CSRF, unique ids."""
    client.set_cookie("lang", language)
    staff_login(client, "superadmin")
    batch = _upload(client, _csv(_row(doc="L-1"), _row(doc="L-2", name="王二麻子"))).headers["Location"]
    pages = ["/admin", "/admin/imports", batch, "/admin/audit", "/admin/audit/verify", "/admin/accounts",
             "/admin/accounts/new",
             f"/admin/accounts/{_account_id(db, 'demo-reviewer')}"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
    html = client.get(batch).get_data(as_text=True)
    assert ("姓名与此身份证号码在登记册中的姓名不符" if language == "zh_CN"
            else "The name does not match the register") in html
    partial = client.get("/admin/audit?before=99999", headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True)
