"""Transparency for residents: who looked at my record, and my data export."""
import io
import json
import zipfile
from datetime import datetime, timezone

from sqlalchemy import inspect

from credit_self import audit
from credit_self.auth import codes
from credit_self.transparency import imports
from tests.conftest import persona, staff_login

DEFAULTER = persona("defaulter")["id_number"]
CLEAN = persona("clean")["id_number"]


def _import_one(db, id_number, name, document_no="TEST-IMPORT-1"):
    rows = [{
        "id_number": id_number, "name": name, "facts": "未履行判决", "document_no": document_no,
        "listed_on": "2024-01-10", "expires_on": "", "source_agency": "上海市第一中级人民法院",
    }]
    from datetime import date
    results = imports.validate(db, rows, "judgment_defaulter", date(2026, 1, 1))
    batch = imports.store_batch(db, results, "judgment_defaulter", "t.csv", "superadmin:demo-superadmin", "2026-01-01T09:00:00")
    imports.apply_import(db, results, "judgment_defaulter", batch, "superadmin:demo-superadmin",
                         "2026-01-01T09:00:00", allow_partial=False)


def test_access_log_shows_reviewer_and_import_reads_but_not_the_residents_own(client, auth, db):
    audit.record(db, "reviewer:demo-reviewer", "correction_case_opened", DEFAULTER, {"correction_id": 1})
    _import_one(db, DEFAULTER, persona("defaulter")["name"])
    audit.record(db, "anonymous", "certificate_verified", DEFAULTER, {"verdict": "valid"})
    audit.record(db, "reviewer:demo-reviewer", "mystery_new_action", DEFAULTER)
    audit.record(db, f"resident:{CLEAN}", "certificate_read_refused", DEFAULTER)
    audit.record(db, "reviewer:demo-reviewer", "correction_case_opened", CLEAN)  # someone else
    auth.login("defaulter")  # the resident's own sign-in: audited, but not shown
    client.get("/me")
    html = client.get("/me/access").get_data(as_text=True)
    assert "reviewed a correction" in html
    assert "Corrections reviewer" in html  # the office (display name)
    assert "imported an entry" in html and "Superadministrator" in html
    assert "verified a certificate" in html
    assert "did something else with your record" in html  # fallback for unknown actions
    assert "demo-reviewer" not in html and "demo-superadmin" not in html  # never the login
    assert "tried to open part of your record and was refused" in html and "Another resident" in html
    assert CLEAN not in html  # the other resident is not named
    assert "signed_in" not in html
    assert html.count('class="card access-item"') == 5


def test_access_log_is_newest_first_and_loads_more_with_or_without_htmx(client, auth, db):
    # Reads of 25 different corrections: none is grouped with another.
    for number in range(25):
        audit.record(db, "reviewer:demo-reviewer", "correction_case_opened", DEFAULTER,
                     {"correction": f"C-2026-{number:06d}"})
    audit.record(db, "pilot_admin:demo-pilot-admin", "score_event_recorded", DEFAULTER)
    auth.login("defaulter")
    page = client.get("/me/access").get_data(as_text=True)
    assert page.index("recorded a pilot event") < page.index("reviewed a correction")
    assert page.count('class="card access-item"') == 20
    assert "Load more" in page
    next_url = page.split('href="/me/access?before=')[1].split('"')[0]
    full = client.get(f"/me/access?before={next_url}")
    assert "<html" in full.get_data(as_text=True)
    partial = client.get(f"/me/access?before={next_url}", headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert "<html" not in body and body.count('class="card access-item"') == 6
    assert "Load more" not in body


def test_access_log_in_chinese(client, auth, db):
    audit.record(db, "reviewer:demo-reviewer", "correction_case_opened", DEFAULTER)
    auth.login("defaulter")
    client.set_cookie("lang", "zh_CN")
    html = client.get("/me/access").get_data(as_text=True)
    assert "审查了一项更正" in html


def test_access_log_needs_a_resident(client):
    assert client.get("/me/access").status_code == 302
    staff_login(client, "reviewer")
    assert client.get("/me/access").status_code == 403


def _load_json(response):
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    return json.loads(response.get_data(as_text=True))


def _other_capability_rows(db):
    """Rows in whichever tables of other capabilities exist, for two residents."""
    tables = db.table_names()
    if "score_events" in tables:
        for who in (DEFAULTER, CLEAN):
            db.execute(
                "INSERT INTO score_events (pilot_code, id_number, event_type, delta, reason, occurred_on) "
                "VALUES ('rongcheng', ?, 'blood_donation', 5, 'test', '2025-01-01')", [who]
            )


def test_export_contains_every_table_for_the_resident_and_nobody_else(client, auth, db):
    _other_capability_rows(db)
    audit.record(db, "reviewer:demo-reviewer", "correction_case_opened", DEFAULTER)
    # A password reset under way: its code's digest is a secret, not the resident's data.
    codes.start(db, DEFAULTER, codes.RECOVERY, datetime.now(timezone.utc), "test-secret")
    auth.login("defaulter")
    assert "Download as JSON" in client.get("/me/export").get_data(as_text=True)
    export = _load_json(client.get("/me/export/json"))
    assert export["generated_at"] and export["id_number"] == DEFAULTER
    tables = export["tables"]
    # Every table with an id_number column has exactly this resident's rows.
    schema = inspect(db.connection)
    for table in db.table_names():
        columns = [c["name"] for c in schema.get_columns(table)]
        if "id_number" not in columns or table in ("accounts", "import_batches", "import_rows",
                                                    "one_time_codes"):
            continue
        expected = db.scalar(f'SELECT count(*) FROM "{table}" WHERE id_number = ?', [DEFAULTER])
        assert len(tables[table]) == expected, table
        assert all(row["id_number"] == DEFAULTER for row in tables[table]), table
    assert len(tables["entries"]) >= 3
    entry_ids = {e["id"] for e in tables["entries"]}
    history = db.scalar(
        f"SELECT count(*) FROM entry_history WHERE entry_id IN ({','.join('?' * len(entry_ids))})",
        list(entry_ids),
    )
    assert history >= 1 and len(tables["entry_history"]) == history
    assert all(h["entry_id"] in entry_ids for h in tables["entry_history"])
    assert tables["accounts"] == [
        {"login": DEFAULTER, "role": "resident", "activated_at": tables["accounts"][0]["activated_at"], "disabled_at": None}
    ]
    text = json.dumps(export, ensure_ascii=False)
    assert CLEAN not in text and "password_hash" not in text and "demo-reviewer" not in text
    assert "one_time_codes" not in tables and "code_hash" not in text
    assert [row["action"] for row in tables["access_log"]] == ["correction_case_opened"]


def test_export_csv_zip_and_the_download_is_audited(client, auth, db):
    auth.login("defaulter")
    response = client.get("/me/export/csv")
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    assert "entries.csv" in names and "residents.csv" in names and "access_log.csv" in names
    entries_csv = archive.read("entries.csv").decode("utf-8-sig")
    assert entries_csv.startswith('"generated_at",') and DEFAULTER in entries_csv
    exported = list(db.query("SELECT * FROM audit_log WHERE action = 'data_exported'"))
    assert [(e["actor"], e["subject"]) for e in exported] == [(f"resident:{DEFAULTER}", DEFAULTER)]
    assert client.get("/me/export/xml").status_code == 404
