"""Transparency for residents: who looked at my record, and my data export."""
import csv
import io
import json
import zipfile
from datetime import datetime, timezone

import pypdf
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import inspect
from sqlite_utils import Database

from credit_self import audit
from credit_self.auth import codes
from credit_self.clock import LOCAL_TZ
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


def _csv_files(response) -> dict[str, list[list[str]]]:
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    return {name: list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"), newline="")))
            if name.endswith(".csv") else archive.read(name).decode("utf-8")
            for name in archive.namelist()}


def _china_time(stored: str) -> str:
    return datetime.fromisoformat(stored).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _sanctions_of(db, id_number: str) -> list[str]:
    return [row["code"] for row in db.query(
        "SELECT s.code FROM entries e JOIN list_sanctions ls ON ls.list_code = e.list_code "
        "JOIN sanctions s ON s.code = ls.sanction_code WHERE e.id_number = ?", [id_number])]


# Columns only the app needs: never in what a person downloads.
INTERNAL = {"dedupe_key", "params", "list_code", "facts_en", "facts_zh", "id", "entry_id",
            "correction_id", "event_type", "generated_at", "pilot_code", "actor"}
LABELS = {
    "en": {"readme": "all data held about ID number", "list": "List", "state": "State",
           "sanctions": "Restrictions it brings", "when": "When (China time)",
           "list_name": "Dishonest judgment defaulters", "active": "Active",
           "description": "description_en"},
    "zh_CN": {"readme": "的全部数据", "list": "名单", "state": "当前状态",
              "sanctions": "由此产生的限制", "when": "时间（北京时间）",
              "list_name": "失信被执行人名单", "active": "生效中",
              "description": "description_zh"},
}


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_export_csv_zip_is_labelled_in_the_readers_language_in_china_time_with_sanctions(
        client, auth, db, language):
    _other_capability_rows(db)
    words = LABELS[language]
    auth.login("defaulter")
    client.set_cookie("lang", language)
    files = _csv_files(client.get("/me/export/csv"))
    assert words["readme"] in files["README.txt"] and "entries.csv" in files["README.txt"]
    for name, table in [(n, t) for n, t in files.items() if n.endswith(".csv")]:
        assert not INTERNAL & set(table[0]), (name, table[0])
        for row in table[1:]:
            assert not any(cell.startswith(("{", "[")) for cell in row), (name, row)  # no JSON
            assert CLEAN not in row, name
    header, *entries = files["entries.csv"]
    column = {label: header.index(label) for label in header}
    assert len(entries) == db.scalar("SELECT count(*) FROM entries WHERE id_number = ?", [DEFAULTER])
    # Codes as words: the list's name, not judgment_defaulter; the state, not "listed".
    assert words["list_name"] in [row[column[words["list"]]] for row in entries]
    assert words["active"] in [row[column[words["state"]]] for row in entries]
    assert not any("judgment_defaulter" in cell or cell == "listed" for row in entries for cell in row)
    # Each entry's sanctions, in the entry's row and one row each in entry_sanctions.csv.
    sanctions = _sanctions_of(db, DEFAULTER)
    assert len(files["entry_sanctions.csv"]) - 1 == len(sanctions) > 0
    description = db.query(f"SELECT {words['description']} AS d FROM sanctions WHERE code = ?",
                           [sanctions[0]])[0]["d"]
    assert any(description in row[column[words["sanctions"]]] for row in entries)
    # Times in China Standard Time.
    changes_header, *changes = files["entry_changes.csv"]
    stored = {row["at"] for row in db.query(
        "SELECT h.at FROM entry_history h JOIN entries e ON e.id = h.entry_id WHERE e.id_number = ?",
        [DEFAULTER])}
    shown = {row[changes_header.index(words["when"])] for row in changes}
    assert shown == {_china_time(at) for at in stored}


def test_export_csv_leaves_out_inbox_internals_and_the_download_is_audited(client, auth, db):
    auth.login("mixup")  # has an inbox message about a correction
    files = _csv_files(client.get("/me/export/csv"))
    header, *messages = files["inbox.csv"]
    assert header == ["When (China time)", "About", "Correction", "Entry number", "Read (China time)"]
    assert [row[1:3] for row in messages] == [["About a correction", "C-2026-000001"]]
    exported = list(db.query("SELECT * FROM audit_log WHERE action = 'data_exported'"))
    mixup = persona("mixup")["id_number"]
    assert [(e["actor"], e["subject"]) for e in exported] == [(f"resident:{mixup}", mixup)]
    assert client.get("/me/export/xml").status_code == 404


def _sqlite(response, tmp_path) -> Database:
    assert response.status_code == 200 and response.mimetype == "application/vnd.sqlite3"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Disposition"].endswith('.db"')
    path = tmp_path / "export.db"
    path.write_bytes(response.data)
    return Database(path)


@pytest.mark.parametrize("language, description", [
    ("en", "Your list entries"), ("zh_CN", "您的名单条目")])
def test_export_sqlite_has_readable_tables_a_readme_and_only_the_residents_rows(
        client, auth, db, tmp_path, language, description):
    _other_capability_rows(db)
    auth.login("pilot_member")
    member = persona("pilot_member")["id_number"]
    client.set_cookie("lang", language)
    exported = _sqlite(client.get("/me/export.db"), tmp_path)
    try:
        assert exported.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = set(exported.table_names())
        assert {"README", "entries", "entry_sanctions", "pilot_score_events", "who_looked"} <= names
        readme = list(exported["README"].rows)
        described = {(row["table_name"], row["column_name"]): row["description"] for row in readme}
        assert described[("entries", "")] == description
        for table in names - {"README"}:
            assert (table, "") in described, table
            for column in exported[table].columns_dict:
                assert described.get((table, column)), (table, column)
            assert not INTERNAL & set(exported[table].columns_dict), table
        events = list(exported["pilot_score_events"].rows)
        assert len(events) == db.scalar("SELECT count(*) FROM score_events WHERE id_number = ?", [member])
        assert {row["rule"] for row in events} >= {"Voluntary blood donation" if language == "en" else "无偿献血"}
        for table in names:
            for row in exported[table].rows:
                assert CLEAN not in " ".join(str(value) for value in row.values()), table
    finally:
        exported.close()
    assert [row["detail"] for row in db.query(
        "SELECT detail FROM audit_log WHERE action = 'data_exported'")] == ['{"format": "sqlite"}']


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_printable_record_lists_every_entry_with_its_list_dates_state_and_sanctions(
        client, auth, db, language):
    auth.login("defaulter")
    client.set_cookie("lang", language)
    for page in ("/me", "/me/export"):
        html = client.get(page).get_data(as_text=True)
        assert 'href="/me/record/print"' in html and 'href="/me/record.pdf"' in html, page
    response = client.get("/me/record/print")
    assert response.status_code == 200
    text = " ".join(BeautifulSoup(response.data, "html.parser").get_text().split())
    suffix = "zh" if language == "zh_CN" else "en"
    for entry in db.query("SELECT e.*, l.* FROM entries e JOIN lists l ON l.code = e.list_code "
                          "WHERE e.id_number = ?", [DEFAULTER]):
        assert entry["document_no"] in text
        for field in ("name", "authority", "legal_basis"):
            assert entry[f"{field}_{suffix}"] in text, field
    for code in _sanctions_of(db, DEFAULTER):
        sanction = db.query("SELECT * FROM sanctions WHERE code = ?", [code])[0]
        assert sanction[f"description_{suffix}"] in text
    assert ("生效中" if suffix == "zh" else "Active") in text
    assert ("北京时间" if suffix == "zh" else "China Standard Time") in text
    others = [row["document_no"] for row in db.query(
        "SELECT document_no FROM entries WHERE id_number != ?", [DEFAULTER])]
    assert not [number for number in others if number in text]


@pytest.mark.parametrize("language, heading", [("en", "Your record"), ("zh_CN", "您的记录")])
def test_record_pdf_is_a4_in_the_readers_language_with_cjk_fonts_embedded(
        client, auth, db, language, heading):
    auth.login("defaulter")
    client.set_cookie("lang", language)
    response = client.get("/me/record.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    page = reader.pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)
    text = "".join(p.extract_text() for p in reader.pages).replace("\n", "")
    assert heading in text and persona("defaulter")["name"] in text
    suffix = "zh" if language == "zh_CN" else "en"
    code = _sanctions_of(db, DEFAULTER)[0]
    description = db.query("SELECT * FROM sanctions WHERE code = ?", [code])[0][f"description_{suffix}"]
    assert description.replace(" ", "") in text.replace(" ", "")
    fonts = {font["/BaseFont"] for p in reader.pages
             for font in p["/Resources"]["/Font"].values()
             if "/FontFile2" in font["/DescendantFonts"][0]["/FontDescriptor"]
             or "/FontFile3" in font["/DescendantFonts"][0]["/FontDescriptor"]}
    assert any("Noto-Sans-CJK" in name for name in fonts), fonts


def test_record_pages_need_a_resident(client):
    for path in ("/me/record/print", "/me/record.pdf", "/me/export.db"):
        assert client.get(path).status_code == 302, path
    staff_login(client, "reviewer")
    for path in ("/me/record/print", "/me/record.pdf", "/me/export.db"):
        assert client.get(path).status_code == 403, path
