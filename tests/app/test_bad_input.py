"""Bad input never gets a 500: each cause an attack on a running server found answers
404 or a clear message, and leaves stored data as it was."""
import io
import re

import pytest

from credit_self.routing import IdConverter
from tests.conftest import AuthActions, persona, staff_login

HEADER = "id_number,name,facts,document_no,listed_on,expires_on,source_agency"
CLEAN = persona("clean")
OUT_OF_RANGE = [str(2**63), str(2**64), "-1", "²", "１"]


def _stored(db) -> tuple:
    """What a bad request must not change: the audit log, corrections, entries, imports."""
    return (db.scalar("SELECT max(seq) FROM audit_log"),
            db.query("SELECT id, status, updated_at FROM corrections ORDER BY id"),
            db.scalar("SELECT count(*) FROM entries"),
            db.scalar("SELECT count(*) FROM entry_history"),
            db.scalar("SELECT count(*) FROM import_batches"))


def _id_routes(app):
    for rule in app.url_map.iter_rules():
        if "<id:" in rule.rule:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.rule, method


def test_every_integer_route_uses_the_64_bit_id_converter(app):
    rules = [rule.rule for rule in app.url_map.iter_rules()]
    assert not [rule for rule in rules if "<int" in rule]  # Werkzeug's own: any size
    assert sum("<id:" in rule for rule in rules) >= 14
    assert app.url_map.converters["id"] is IdConverter


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_ids_outside_the_64_bit_range_are_404_on_every_route(app, db, value):
    resident, staff = app.test_client(), app.test_client()
    AuthActions(resident).login("mixup")
    staff_login(staff, "superadmin")
    before = _stored(db)
    checked = 0
    for rule, method in _id_routes(app):
        url = re.sub(r"<id:\w+>", value, rule)
        assert "<" not in url, rule
        client = staff if rule.startswith("/admin") else resident
        response = client.open(url, method=method)
        assert response.status_code == 404, (url, method, response.status_code)
        checked += 1
    assert checked >= 14
    assert _stored(db) == before


@pytest.mark.parametrize("path, who", [("/me/access", "resident"), ("/admin/audit", "superadmin")])
@pytest.mark.parametrize("before", ["²", "٣", str(2**63), "1e3", "-1"])
@pytest.mark.parametrize("htmx", [False, True])
def test_a_load_more_cursor_that_is_not_a_sequence_number_is_400_with_a_reason(
        app, db, path, who, before, htmx):
    client = app.test_client()
    if who == "resident":
        AuthActions(client).login("defaulter")
    else:
        staff_login(client, who)
    start = _stored(db)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.get(path, query_string={"before": before}, headers=headers)
    assert response.status_code == 400
    assert "a part of the list that does not exist" in response.get_data(as_text=True)
    assert client.get(path, query_string={"before": "5"}, headers=headers).status_code == 200
    assert _stored(db) == start


def test_a_40_digit_year_in_a_decision_is_a_validation_message(client, db):
    staff_login(client, "reviewer")
    case = db.query("SELECT * FROM corrections WHERE id_number = ?", [persona("mixup")["id_number"]])[0]
    before = _stored(db)
    response = client.post(f"/admin/corrections/{case['id']}/decide", data={
        "outcome": "uphold", "action": "earlier_expiry", "note": "Ends earlier.",
        "expiry-day": "1", "expiry-month": "1", "expiry-year": "9" * 40})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count("Enter a real end date, for example 27 3 2026") == 2  # summary and field
    assert _stored(db) == before


def _upload(client, text: str):
    return client.post("/admin/imports", content_type="multipart/form-data", data={
        "list_code": "judgment_defaulter", "feed": (io.BytesIO(text.encode("utf-8")), "feed.csv")})


def _row(document_no: str, facts: str = "未履行") -> str:
    return f"{CLEAN['id_number']},{CLEAN['name']},{facts},{document_no},2025-03-01,,上海市黄浦区人民法院"


def test_an_import_field_over_the_csv_modules_limit_is_a_validation_message(client, db):
    staff_login(client, "superadmin")
    before = _stored(db)
    response = _upload(client, "\n".join([HEADER, _row("LONG-1", "x" * 131_073)]) + "\n")
    assert response.status_code == 200
    assert "longer than 10,000 characters (row ending on line 2)" in response.get_data(as_text=True)
    assert _stored(db) == before


def test_an_import_with_cr_only_line_endings_is_read_row_by_row(client, db):
    staff_login(client, "superadmin")
    before = _stored(db)
    response = _upload(client, "\r".join([HEADER, _row("CR-1"), _row("CR-2")]) + "\r")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "CR-1" in page and "CR-2" in page and "Import 2 valid rows" in page
    assert _stored(db)[2:4] == before[2:4]  # validated and kept for confirmation, not imported
