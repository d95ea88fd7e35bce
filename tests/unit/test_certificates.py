"""Certificates without HTTP: the QR decodes to the verify URL, tokens carry nothing
personal, the restriction query agrees with records.rules."""
import json
from datetime import date, datetime, timezone

import pytest
import qrcode
import zxingcpp
from itsdangerous import base64_decode
from qrcode.image.pil import PilImage
from sqlalchemy import inspect

from credit_self.certificates import store, tokens
from credit_self.certificates.views import qr_svg
from credit_self.records import entries, rules
from tests.conftest import ON_POSTGRESQL, persona

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)


def test_qr_code_decodes_to_the_verify_url():
    url = "https://check.example.cn/v/" + tokens.make_token(["k"], "AbCdEfGhIjKlMnOpQrStUv", "s", NOW)
    image = qrcode.make(url, image_factory=PilImage, error_correction=qrcode.constants.ERROR_CORRECT_M)
    results = zxingcpp.read_barcodes(image.get_image().convert("L"))
    assert [r.text for r in results] == [url]


def test_qr_svg_is_embeddable_without_inline_styles():
    svg = str(qr_svg("https://check.example.cn/v/x"))
    assert svg.startswith('<svg class="qr__image" aria-hidden="true"')
    assert "style=" not in svg and "<script" not in svg


def test_token_payload_is_only_the_certificate_id_and_kind():
    token = tokens.make_token(["k"], "cert-id", tokens.PRINT, NOW)
    payload = json.loads(base64_decode(token.split(".")[0]))
    assert payload == {"c": "cert-id", "k": "p"}


@pytest.mark.parametrize("ua, family", [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) AppleWebKit Version/17.0 Mobile Safari/604.1", "Safari"),
    ("Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile Safari/537.36", "Chrome"),
    ("Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0", "WeChat"),
    ("Mozilla/5.0 Edg/120.0 Chrome/120.0", "Edge"),
    ("curl/8.0", "Other"),
    (None, "Other"),
])
def test_browser_family_is_coarse(ua, family):
    assert tokens.browser_family(ua) == family


def test_active_entry_query_agrees_with_the_records_rules(db):
    today = date.today()
    answers = set()
    for row in db.query("SELECT DISTINCT id_number FROM entries ORDER BY id_number"):
        id_number = row["id_number"]
        summary = rules.summarise(entries.entries_for(db, id_number), today, 14)
        active = store.active_blacklist_entries(db, id_number, today.isoformat())
        by_rules = [entry["id"] for entry in summary.active
                    if entry["state"] == rules.ACTIVE and entry["kind"] == "blacklist"]
        assert [entry["id"] for entry in active] == sorted(by_rules), id_number
        restricted = bool(active)
        answers.add(restricted)
    assert answers == {True, False}


def test_schema_is_strict_and_indexed(db):
    schema = inspect(db.connection)
    indexed = {table: {tuple(index["column_names"]) for index in schema.get_indexes(table)}
               for table in ("certificates", "certificate_scans")}
    # The holder's list and a certificate's scan log are read through these.
    assert ("id_number", "issued_at") in indexed["certificates"]
    assert ("certificate_id", "at") in indexed["certificate_scans"]
    # The scan journal's reference went with the journal.
    assert "ref" not in {column["name"] for column in schema.get_columns("certificate_scans")}
    [scan_owner] = schema.get_foreign_keys("certificate_scans")
    assert (scan_owner["referred_table"], scan_owner["constrained_columns"]) == (
        "certificates", ["certificate_id"])
    if not ON_POSTGRESQL:  # PostgreSQL columns always hold their declared type
        for table in ("certificates", "certificate_scans", "certificate_status_lists",
                      "certificate_credentials"):
            definition = db.scalar("SELECT sql FROM sqlite_master WHERE name = ?", [table])
            assert definition.rstrip().endswith("STRICT"), table


def test_demo_data_gives_the_clean_persona_a_checked_certificate(db):
    rows = db.query(
        "SELECT c.id, c.purpose, c.revoked_at, c.id_number, COUNT(s.id) AS scans FROM certificates c"
        " LEFT JOIN certificate_scans s ON s.certificate_id = c.id GROUP BY c.id")
    assert [(r["purpose"], r["revoked_at"], r["scans"]) for r in rows] == [("rental", None, 2)]
    assert rows[0]["id_number"] == persona("clean")["id_number"]
    # Each demo check shows in the holder's "Who looked" at the time it was made.
    scanned = db.query("SELECT at FROM certificate_scans WHERE certificate_id = ? ORDER BY at",
                       [rows[0]["id"]])
    verified = db.query("SELECT at FROM audit_log WHERE action = 'certificate_verified'"
                        " AND subject = ? ORDER BY at", [rows[0]["id_number"]])
    assert [row["at"] for row in verified] == [row["at"] for row in scanned]
