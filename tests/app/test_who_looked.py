""""Who looked" and the inbox made for people: newest first, repeated reads grouped,
each row naming what it concerns, a correction's messages one thread, link names that
make sense on their own."""
import re

from bs4 import BeautifulSoup

from credit_self import audit
from tests.conftest import persona

DEFAULTER = persona("defaulter")["id_number"]
MIXUP = persona("mixup")["id_number"]


def _rows(client) -> list[str]:
    soup = BeautifulSoup(client.get("/me/access").get_data(as_text=True), "html.parser")
    return [" ".join(item.get_text(" ").split()) for item in soup.select("li.access-item")]


def _read(actor, action, subject, detail, at):
    return audit.Event(actor, action, subject, detail, at=at)


def test_repeated_reads_by_one_office_within_an_hour_are_one_row_with_a_count(client, auth, db):
    reference = db.scalar("SELECT reference FROM corrections WHERE id_number = ?", [MIXUP])
    correction_id = db.scalar("SELECT id FROM corrections WHERE id_number = ?", [MIXUP])
    reads = [_read("reviewer:demo-reviewer", "correction_case_read", MIXUP,
                   {"correction_id": correction_id}, f"2030-01-01T06:0{minute}:00+00:00")
             for minute in range(8)]
    # The same reads again more than an hour later: a row of its own.
    reads.append(_read("reviewer:demo-reviewer", "correction_case_read", MIXUP,
                       {"correction_id": correction_id}, "2030-01-01T08:00:00+00:00"))
    audit.record_many(db, reads)
    auth.login("mixup")
    rows = _rows(client)
    assert rows[0].startswith("1 January 2030, 16:00") and "times" not in rows[0]
    assert rows[1].startswith("1 January 2030, 14:07")
    assert "reviewed a correction · 8 times, the first at 14:00:00" in rows[1]
    assert f"Correction {reference}" in rows[0] and f"Correction {reference}" in rows[1]
    assert not any("2030" in row for row in rows[2:])


def test_who_looked_is_in_time_order_even_when_written_out_of_order(client, auth, db):
    # A scan logged late (its time is when it happened) sorts by that time.
    audit.record_many(db, [_read("pilot_admin:demo-pilot-admin", "pilot_resident_lookup", DEFAULTER,
                                 {"pilot": "rongcheng"}, "2030-02-01T02:00:00+00:00")])
    audit.record_many(db, [_read("anonymous", "certificate_verified", DEFAULTER,
                                 {"certificate_id": "x", "outcome": "valid"},
                                 "2030-01-01T02:00:00+00:00")])
    auth.login("defaulter")
    rows = _rows(client)
    assert "looked you up in a scoring pilot" in rows[0] and "1 February 2030" in rows[0]
    assert "verified a certificate" in rows[1] and "1 January 2030" in rows[1]


def test_each_row_names_the_import_or_certificate_it_concerns(client, auth, db):
    auth.login("clean")
    client.post("/certificates", data={"purpose": "rental", "audience": "", "days": "3"})
    certificate = db.query("SELECT id, issued_at FROM certificates WHERE id_number = ?",
                           [persona("clean")["id_number"]])[0]
    audit.record_many(db, [
        _read("anonymous", "certificate_verified", persona("clean")["id_number"],
              {"certificate_id": certificate["id"], "outcome": "valid"}, "2030-01-01T02:00:00+00:00"),
        _read("superadmin:demo-superadmin", "list_entry_imported", persona("clean")["id_number"],
              {"batch": "b1", "list": "railway_misconduct", "document_no": "沪铁（2029）7号",
               "change": "created"}, "2030-01-02T02:00:00+00:00"),
    ])
    rows = _rows(client)
    assert "Railway passenger misconduct, document 沪铁（2029）7号" in rows[0]
    assert "Your certificate issued" in rows[1]


def test_inbox_links_make_sense_on_their_own(client, auth, db):
    auth.login("train_expiring")
    client.get("/me")  # notes the entry ending soon
    soup = BeautifulSoup(client.get("/inbox").get_data(as_text=True), "html.parser")
    names = [" ".join(a.get_text().split()) for a in soup.select("main article a")]
    assert names and all(not re.search(r"\(\d+\)$", name) for name in names)
    assert "View entry: Railway passenger misconduct" in names


def test_the_load_more_cursor_cannot_be_another_residents_row(client, auth, db):
    audit.record_many(db, [_read("reviewer:demo-reviewer", "correction_case_read", DEFAULTER,
                                 {"correction_id": 1}, "2030-01-01T02:00:00+00:00")])
    other = audit.record_many(db, [_read("reviewer:demo-reviewer", "correction_case_read", MIXUP,
                                         {"correction_id": 2}, "2031-01-01T02:00:00+00:00")])
    auth.login("defaulter")
    assert _rows(client)  # the resident's own page has rows
    page = client.get(f"/me/access?before={other}").get_data(as_text=True)
    assert "access-item" not in page  # no row is placed against another person's row's time
