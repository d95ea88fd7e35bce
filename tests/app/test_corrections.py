"""Corrections and credit restoration: filing, following, reviewing, the inbox."""
import html
import re
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from bs4 import BeautifulSoup

from credit_self.clock import LOCAL_TZ
from credit_self.corrections import data
from credit_self.db import make_engine
from tests.conftest import AuthActions, persona, staff_login

STATEMENT = "I paid the whole amount on 3 March; the court has the receipt."


def entry_id(db, who: str, list_code: str) -> int:
    return db.scalar(
        "SELECT id FROM entries WHERE id_number = ? AND list_code = ?",
        [persona(who)["id_number"], list_code],
    )


def file(client, entry: int, kind: str = "objection", **form) -> str:
    """Go through form and check-your-answers; return the confirmation page."""
    answers = {"category": "fulfilled", "statement": STATEMENT, "evidence": "Receipt 2026-118"}
    answers.update(form)
    response = client.post(f"/me/entries/{entry}/correction?kind={kind}", data=answers)
    assert response.status_code == 303, response.get_data(as_text=True)
    response = client.post(f"/me/entries/{entry}/correction/check?kind={kind}")
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return page.get_data(as_text=True)


def checked_radio(html: str, name: str) -> str | None:
    radio = BeautifulSoup(html, "html.parser").find("input", attrs={"name": name, "checked": True})
    return radio["value"] if radio else None


def correction_row(db, entry: int) -> dict:
    return db.query("SELECT * FROM corrections WHERE entry_id = ? ORDER BY id DESC", [entry])[0]


def entry_field(db, entry: int, column: str):
    """One column of an entry as the database holds it now."""
    return db.scalar(f"SELECT {column} FROM entries WHERE id = ?", [entry])


def days_from_today(days: int) -> str:
    """A date `days` after today in China (the day the app's rules use), as stored."""
    return (datetime.now(LOCAL_TZ).date() + timedelta(days=days)).isoformat()


def test_filing_goes_through_check_your_answers_to_a_reference(client, auth, db):
    auth.login("train_expiring")
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    form = client.get(f"/me/entries/{entry}/correction").get_data(as_text=True)
    assert "Why is the entry wrong?" in form
    client.post(f"/me/entries/{entry}/correction",
                data={"category": "wrong_facts", "statement": STATEMENT, "evidence": ""})
    check = client.get(f"/me/entries/{entry}/correction/check").get_data(as_text=True)
    assert "Check your answers" in check and STATEMENT in check and "Not provided" in check
    assert "The facts are wrong" in check
    # "Change" goes back to the form with the answers kept.
    again = client.get(f"/me/entries/{entry}/correction").get_data(as_text=True)
    assert STATEMENT in again and checked_radio(again, "category") == "wrong_facts"
    done = client.post(f"/me/entries/{entry}/correction/check")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    row = correction_row(db, entry)
    assert re.fullmatch(r"C-\d{4}-\d{6}", row["reference"])
    assert row["reference"] in page and "Correction sent" in page
    assert row["status"] == "submitted" and row["category"] == "wrong_facts"
    # The entry is under dispute on /me at once, and the correction is listed.
    assert "Under dispute" in client.get("/me").get_data(as_text=True)
    listing = client.get("/corrections").get_data(as_text=True)
    assert row["reference"] in listing and "Submitted" in listing


def test_due_date_is_five_working_days_after_filing(client, auth, db, app):
    app.config["NOW"] = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)  # a Friday in Shanghai
    auth.login("train_expiring")
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    page = file(client, entry)
    assert correction_row(db, entry)["due_by"] == "2026-11-27"
    assert "27 November 2026" in page


def test_reference_carries_the_year_of_the_filing_day_in_china(client, auth, db, app):
    app.config["NOW"] = datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc)  # 1 January 2027 in Shanghai
    auth.login("train_expiring")
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    file(client, entry)
    assert correction_row(db, entry)["reference"].startswith("C-2027-")


@pytest.mark.parametrize("form, field, message", [
    ({"statement": STATEMENT}, "category", "Select why the entry is wrong"),
    ({"category": "bogus", "statement": STATEMENT}, "category", "Select why the entry is wrong"),
    ({"category": "other", "statement": "   "}, "statement", "Enter your statement"),
    ({"category": "other", "statement": "Too short"}, "statement", "Your statement must be 20 characters or more"),
    ({"category": "other", "statement": "x" * 4001}, "statement", "Your statement must be 4,000 characters or fewer"),
    ({"category": "other", "statement": STATEMENT, "evidence": "e" * 2001}, "evidence", "Evidence must be 2,000 characters or fewer"),
])
def test_objection_validation_messages(client, auth, db, form, field, message):
    auth.login("train_expiring")
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    response = client.post(f"/me/entries/{entry}/correction", data=form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count(message) == 2  # error summary and beside the field
    assert f'href="#{field}"' in page and "<title>Error:" in page
    assert db.scalar("SELECT count(*) FROM corrections WHERE entry_id = ?", [entry]) == 0


def test_statement_of_exactly_twenty_characters_is_accepted(client, auth, db):
    auth.login("train_expiring")
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    response = client.post(f"/me/entries/{entry}/correction", data={"category": "other", "statement": "a" * 20})
    assert response.status_code == 303


def test_not_me_link_prefills_reason_and_differences(client, auth, db):
    auth.login("mixup")
    entry = entry_id(db, "mixup", "judgment_defaulter")
    # The seeded open correction blocks a second one; withdraw it first.
    open_one = correction_row(db, entry)
    client.post(f"/corrections/{open_one['id']}/withdraw")
    detail = client.get(f"/me/entries/{entry}").get_data(as_text=True)
    assert f"/me/entries/{entry}/correction?reason=not_me" in detail
    form = client.get(f"/me/entries/{entry}/correction?reason=not_me").get_data(as_text=True)
    assert checked_radio(form, "category") == "not_me"
    assert "recorded 1982, but mine is 1993" in form


def test_seeded_mixup_has_an_open_correction_under_dispute(client, auth, db):
    auth.login("mixup")
    assert "Under dispute" in client.get("/me").get_data(as_text=True)
    listing = client.get("/corrections").get_data(as_text=True)
    assert "This entry is not about me" in listing and "Submitted" in listing


def test_withdraw_and_add_information(client, auth, db):
    auth.login("train_expiring")
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    file(client, entry)
    row = correction_row(db, entry)
    empty = client.post(f"/corrections/{row['id']}/information", data={"information": " "})
    assert empty.get_data(as_text=True).count("Enter the information you want to add") == 2
    client.post(f"/corrections/{row['id']}/information", data={"information": "Receipt number 2026-118-7"})
    page = client.get(f"/corrections/{row['id']}").get_data(as_text=True)
    assert "You added information" in page and "Receipt number 2026-118-7" in page
    response = client.post(f"/corrections/{row['id']}/withdraw")
    assert response.status_code == 303
    assert correction_row(db, entry)["status"] == "withdrawn"
    page = client.get(f"/corrections/{row['id']}").get_data(as_text=True)
    assert "Withdrawn by you" in page and "Add information" not in page
    assert "Under dispute" not in client.get("/me").get_data(as_text=True)
    client.post(f"/corrections/{row['id']}/information", data={"information": "Too late now"})
    assert "Too late now" not in client.get(f"/corrections/{row['id']}").get_data(as_text=True)


def test_uphold_withdraws_entry_with_history_and_clears_restriction(app, auth, db):
    resident = app.test_client()
    reviewer = app.test_client()
    AuthActions(resident).login("train_expiring")
    assert "No train tickets" in resident.get("/me").get_data(as_text=True) or \
        "restriction" in resident.get("/me").get_data(as_text=True)
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    file(resident, entry)
    row = correction_row(db, entry)
    staff_login(reviewer, "reviewer")
    case = reviewer.get(f"/admin/corrections/{row['id']}").get_data(as_text=True)
    assert STATEMENT in case and "Other entries of this resident on the same list" in case
    assert correction_row(db, entry)["status"] == "in_review"
    audit_rows = db.query(
        "SELECT * FROM audit_log WHERE action = 'correction_case_read' AND subject = ? ORDER BY seq",
        [persona("train_expiring")["id_number"]])
    assert audit_rows and audit_rows[-1]["actor"] == "reviewer:demo-reviewer"
    response = reviewer.post(f"/admin/corrections/{row['id']}/decide",
                             data={"outcome": "uphold", "action": "withdraw", "note": "Ticket record was another passenger's."})
    assert response.status_code == 303
    assert entry_field(db, entry, "status") == "withdrawn"
    history = db.query("SELECT * FROM entry_history WHERE correction_id = ?", [row["id"]])
    assert [(h["field"], h["old_value"], h["new_value"], h["actor"]) for h in history] == [
        ("status", "listed", "withdrawn", "reviewer:demo-reviewer")]
    me = resident.get("/me").get_data(as_text=True)
    assert "No active restrictions" in me and "Under dispute" not in me
    inbox = resident.get("/inbox").get_data(as_text=True)
    assert "Upheld" in inbox and "An entry about you changed" in inbox
    detail = resident.get(f"/corrections/{row['id']}").get_data(as_text=True)
    assert "Ticket record was another passenger&#39;s." in detail and "The entry was withdrawn." in detail


def test_uphold_with_earlier_end_date_and_corrected_facts(client, db, app):
    resident = app.test_client()
    AuthActions(resident).login("defaulter")
    entry = entry_id(db, "defaulter", "restricted_consumption")
    file(resident, entry)
    row = correction_row(db, entry)
    staff_login(client, "reviewer")
    listed = entry_field(db, entry, "listed_on")
    bad = client.post(f"/admin/corrections/{row['id']}/decide", data={
        "outcome": "uphold", "action": "earlier_expiry", "note": "Paid in full.",
        "expiry-day": "31", "expiry-month": "2", "expiry-year": "2026"})
    assert "Enter a real end date, for example 27 3 2026" in bad.get_data(as_text=True)
    y, m, d = (int(x) for x in listed.split("-"))
    client.post(f"/admin/corrections/{row['id']}/decide", data={
        "outcome": "uphold", "action": "earlier_expiry", "note": "Paid in full.",
        "expiry-day": str(d), "expiry-month": str(m), "expiry-year": str(y)})
    assert entry_field(db, entry, "expires_on") == listed
    history = db.query("SELECT * FROM entry_history WHERE correction_id = ?", [row["id"]])[0]
    assert history["field"] == "expires_on" and history["old_value"] is None and history["new_value"] == listed


def test_reject_keeps_the_entry_and_shows_the_reason(client, auth, db, app):
    auth.login("train_expiring")
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    file(client, entry)
    row = correction_row(db, entry)
    reviewer = app.test_client()
    staff_login(reviewer, "reviewer")
    missing = reviewer.post(f"/admin/corrections/{row['id']}/decide", data={"outcome": "reject", "note": ""})
    assert missing.get_data(as_text=True).count("Enter the reason for your decision") == 2
    reviewer.post(f"/admin/corrections/{row['id']}/decide",
                  data={"outcome": "reject", "note": "The conductor's report names you."})
    assert entry_field(db, entry, "status") == "listed"
    assert db.scalar("SELECT count(*) FROM entry_history WHERE correction_id = ?", [row["id"]]) == 0
    page = client.get(f"/corrections/{row['id']}").get_data(as_text=True)
    assert "Your correction was rejected" in page and "The conductor&#39;s report names you." in page


@pytest.mark.parametrize("form, message", [
    ({"note": "x"}, "Select a decision"),
    ({"outcome": "uphold", "note": "x"}, "Select what to change in the entry"),
    ({"outcome": "uphold", "action": "correct_facts", "note": "x"}, "Enter the corrected facts"),
    ({"outcome": "uphold", "action": "earlier_expiry", "note": "x", "expiry-day": "1",
      "expiry-month": "1", "expiry-year": "1990"}, "The new end date must be on or after the listing date"),
])
def test_decision_validation_messages(client, db, form, message):
    staff_login(client, "reviewer")
    entry = entry_id(db, "mixup", "judgment_defaulter")
    row = correction_row(db, entry)
    page = client.post(f"/admin/corrections/{row['id']}/decide", data=form).get_data(as_text=True)
    assert page.count(message) == 2
    assert correction_row(db, entry)["status"] in data.OPEN_STATUSES


def test_a_resident_cannot_see_or_act_on_anothers_correction(client, auth, db):
    entry = entry_id(db, "mixup", "judgment_defaulter")
    row = correction_row(db, entry)
    before = db.scalar("SELECT max(seq) FROM audit_log")
    auth.login("defaulter")
    assert client.get(f"/corrections/{row['id']}").status_code == 404
    assert client.get(f"/corrections/{row['id']}/confirmation").status_code == 404
    assert client.post(f"/corrections/{row['id']}/withdraw").status_code == 404
    assert client.post(f"/corrections/{row['id']}/information", data={"information": "hello there"}).status_code == 404
    assert client.get(f"/me/entries/{entry}/correction").status_code == 404
    assert correction_row(db, entry)["status"] == "submitted"
    refused = db.scalar(
        "SELECT count(*) FROM audit_log WHERE seq > ? AND action = 'correction_read_refused' "
        "AND subject = ?", [before, persona("mixup")["id_number"]])
    assert refused == 4
    assert row["reference"] not in client.get("/corrections").get_data(as_text=True)


@pytest.mark.parametrize("role, status", [("pilot_admin", 403), ("reviewer", 200), ("superadmin", 200)])
def test_queue_is_for_reviewers(client, role, status):
    staff_login(client, role)
    assert client.get("/admin/corrections").status_code == status


def test_residents_cannot_open_the_queue(client, auth):
    auth.login("defaulter")
    assert client.get("/admin/corrections").status_code == 403


def test_queue_puts_overdue_first_and_filters(client, db, app):
    overdue_entry = entry_id(db, "mixup", "judgment_defaulter")
    db.execute("UPDATE corrections SET due_by = '2020-01-06' WHERE entry_id = ?", [overdue_entry])
    staff_login(client, "reviewer")
    page = client.get("/admin/corrections").get_data(as_text=True)
    assert "Overdue" in page
    ref = correction_row(db, overdue_entry)["reference"]
    assert ref in page
    assert ref not in client.get("/admin/corrections?list=railway_misconduct").get_data(as_text=True)
    assert ref not in client.get("/admin/corrections?status=upheld").get_data(as_text=True)


def test_forwarding_moves_the_due_date_and_records_the_answer(client, db, app):
    app.config["NOW"] = datetime(2026, 9, 30, 3, 0, tzinfo=timezone.utc)
    entry = entry_id(db, "mixup", "judgment_defaulter")
    row = correction_row(db, entry)
    staff_login(client, "reviewer")
    client.post(f"/admin/corrections/{row['id']}/forward", data={"agency_note": "Please check the ID."})
    after = correction_row(db, entry)
    assert after["status"] == "forwarded" and after["due_by"] == "2026-10-13"
    empty = client.post(f"/admin/corrections/{row['id']}/answer", data={"answer": ""})
    assert html.unescape(empty.get_data(as_text=True)).count("Enter the agency's answer") == 2
    client.post(f"/admin/corrections/{row['id']}/answer", data={"answer": "Wrong person; we will withdraw."})
    case = client.get(f"/admin/corrections/{row['id']}").get_data(as_text=True)
    assert "Wrong person; we will withdraw." in case and "Forwarded to the source agency" in case


def test_two_reviewers_deciding_at_once_exactly_one_wins(database_url, db):
    entry = entry_id(db, "mixup", "judgment_defaulter")
    correction_id = correction_row(db, entry)["id"]
    engine = make_engine(database_url)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def decide(outcome: str) -> None:
        with engine.connect() as own:
            barrier.wait()
            try:
                data.decide(own, correction_id, outcome, f"{outcome} note",
                            "withdraw" if outcome == "uphold" else None, None, None,
                            datetime.now(timezone.utc), f"reviewer:{outcome}")
                results.append(outcome)
            except data.AlreadyDecided:
                results.append("already decided")

    threads = [threading.Thread(target=decide, args=(o,)) for o in ("uphold", "reject")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert sorted(results).count("already decided") == 1
    winner = next(r for r in results if r != "already decided")
    row = correction_row(db, entry)
    assert row["status"] == ("upheld" if winner == "uphold" else "rejected")
    assert db.scalar("SELECT count(*) FROM correction_events WHERE correction_id = ? "
                     "AND event IN ('upheld','rejected')", [correction_id]) == 1


def test_two_filings_for_one_entry_at_once_open_one_correction(database_url, db):
    """A double-clicked "Send" never leaves two open corrections on one entry."""
    who = persona("train_expiring")["id_number"]
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    engine = make_engine(database_url)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def send(second: int) -> None:
        # A second apart, as two clicks are: each filing is otherwise unique.
        sent_at = datetime(2026, 11, 20, 3, 0, second, tzinfo=timezone.utc)
        with engine.connect() as own:
            barrier.wait()
            try:
                data.file_correction(own, who, entry, data.OBJECTION, "other", STATEMENT, "", False,
                                     sent_at, date(2026, 11, 20), f"resident:{who}")
                results.append("filed")
            except data.CorrectionError:
                results.append("refused")

    threads = [threading.Thread(target=send, args=(s,)) for s in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert sorted(results) == ["filed", "refused"]
    assert db.scalar("SELECT count(*) FROM corrections WHERE entry_id = ?", [entry]) == 1


def test_second_reviewer_is_told_the_case_was_decided(client, db, app):
    entry = entry_id(db, "mixup", "judgment_defaulter")
    row = correction_row(db, entry)
    other = app.test_client()
    staff_login(client, "reviewer")
    staff_login(other, "superadmin")
    client.post(f"/admin/corrections/{row['id']}/decide", data={"outcome": "uphold", "action": "withdraw", "note": "Wrong person."})
    response = other.post(f"/admin/corrections/{row['id']}/decide", data={"outcome": "reject", "note": "No."},
                          follow_redirects=True)
    assert "already decided by someone else" in response.get_data(as_text=True)
    assert correction_row(db, entry)["decided_by"] == "reviewer:demo-reviewer"


def test_restoration_only_after_the_minimum_period(client, auth, db):
    auth.login("focus_three")
    too_early = entry_id(db, "focus_three", "focus_transport")  # listed 60 days ago, minimum 90
    ready = entry_id(db, "focus_three", "focus_market_regulation")  # listed 100 days ago
    assert client.get(f"/me/entries/{too_early}/correction?kind=restoration").status_code == 404
    assert client.post(f"/me/entries/{too_early}/correction?kind=restoration",
                       data={"statement": STATEMENT, "commitment": "yes"}).status_code == 404
    assert "kind=restoration" not in client.get(f"/me/entries/{too_early}").get_data(as_text=True)
    page = client.get(f"/me/entries/{ready}").get_data(as_text=True)
    assert "Apply for credit repair (free)" in page
    form = client.get(f"/me/entries/{ready}/correction?kind=restoration").get_data(as_text=True)
    assert "Credit repair is free" in form and "Credit commitment" in form
    missing = client.post(f"/me/entries/{ready}/correction?kind=restoration", data={"statement": STATEMENT})
    assert missing.get_data(as_text=True).count("Confirm the credit commitment") == 2
    confirmation = file(client, ready, kind="restoration", commitment="yes")
    assert "Credit repair application sent" in confirmation
    row = correction_row(db, ready)
    assert row["kind"] == "restoration" and row["commitment"] == 1
    # Working days count from the filing day in China (16:00-24:00 UTC is the next day).
    filed = datetime.fromisoformat(row["filed_at"]).astimezone(LOCAL_TZ).date()
    assert row["due_by"] == data.add_working_days(filed, 3, data.calendar(db)).isoformat()


def test_statements_with_html_are_escaped(client, auth, db, app):
    auth.login("train_expiring")
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    nasty = '<script>alert("x")</script><b>bold</b> and more words here'
    file(client, entry, statement=nasty)
    row = correction_row(db, entry)
    for page in (client.get(f"/corrections/{row['id']}"),):
        text = page.get_data(as_text=True)
        assert "<script>alert" not in text and "&lt;script&gt;alert" in text
    reviewer = app.test_client()
    staff_login(reviewer, "reviewer")
    case = reviewer.get(f"/admin/corrections/{row['id']}").get_data(as_text=True)
    assert "<script>alert" not in case and "&lt;b&gt;bold&lt;/b&gt;" in case


def test_inbox_counts_unread_and_warns_of_entries_ending_soon(client, auth, db):
    auth.login("train_expiring")  # railway entry ends in 9 days
    me = client.get("/me").get_data(as_text=True)
    assert re.search(r'class="badge">1<span class="visually-hidden"> unread', me)
    client.get("/me")  # idempotent: still one message
    assert db.scalar("SELECT count(*) FROM inbox_messages WHERE id_number = ?",
                     [persona("train_expiring")["id_number"]]) == 1
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "An entry about you ends soon" in inbox and "New" in inbox
    assert 'class="badge"' not in client.get("/corrections").get_data(as_text=True)


def test_a_message_arriving_while_the_inbox_is_read_stays_new(db):
    """Only the messages the page showed are marked read."""
    who = persona("mixup")["id_number"]
    shown_new = [m["id"] for m in data.inbox(db, who) if m["read_at"] is None]
    assert shown_new
    correction = correction_row(db, entry_id(db, "mixup", "judgment_defaulter"))
    data.start_review(db, correction["id"], datetime.now(timezone.utc), "reviewer:demo-reviewer")
    data.mark_read(db, who, shown_new, datetime.now(timezone.utc))
    assert data.unread_count(db, who) == 1


def test_ending_soon_notices_follow_the_expiry_date(client, auth, db):
    who = persona("train_expiring")["id_number"]
    entry = entry_id(db, "train_expiring", "railway_misconduct")

    def notices():
        return [r["dedupe_key"] for r in db.query(
            "SELECT dedupe_key FROM inbox_messages WHERE id_number = ? AND kind = 'entry_expiring' "
            "ORDER BY id", [who])]

    def expires_in(days: int) -> None:
        db.execute("UPDATE entries SET expires_on = ? WHERE id = ?", [days_from_today(days), entry])

    auth.login("train_expiring")
    expires_in(20)  # too far off for a notice
    client.get("/inbox")
    assert notices() == []
    expires_in(5)  # a new expiry date 5 days away: one notice, from the inbox page too
    client.get("/inbox")
    client.get("/me")
    first = notices()
    assert first == [f"expiring:{entry}:{days_from_today(5)}"]
    expires_in(3)  # moved again: a second notice for the new date
    client.get("/me")
    assert len(notices()) == 2


def test_no_inbox_badge_when_signed_out(client):
    page = client.get("/login")
    assert page.status_code == 200 and 'class="badge"' not in page.get_data(as_text=True)


def test_filing_needs_a_csrf_token(csrf_app, db):
    client = csrf_app.test_client()
    p = persona("train_expiring")
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"id_number": p["id_number"], "password": p["password"], "csrf_token": token})
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    response = client.post(f"/me/entries/{entry}/correction", data={"category": "other", "statement": STATEMENT})
    assert response.status_code == 400


def test_chinese_pages_are_translated(client, auth, db):
    client.get("/language/zh_CN?next=/login")
    auth.login("mixup")
    page = client.get("/corrections").get_data(as_text=True)
    assert "您的更正" in page and "Your corrections" not in page


def test_htmx_add_information_and_withdraw_swap_the_correction_body(client, auth, db):
    auth.login("train_expiring")
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    file(client, entry)
    row = correction_row(db, entry)
    hx = {"HX-Request": "true"}
    page = client.get(f"/corrections/{row['id']}").get_data(as_text=True)
    assert f'hx-post="/corrections/{row["id"]}/information"' in page
    error = client.post(f"/corrections/{row['id']}/information", data={"information": ""}, headers=hx)
    assert error.status_code == 200
    text = error.get_data(as_text=True)
    assert "<html" not in text and text.count("Enter the information you want to add") == 2
    added = client.post(f"/corrections/{row['id']}/information", data={"information": "Ticket refund 88"}, headers=hx)
    text = added.get_data(as_text=True)
    assert 'id="correction-body"' in text and "Ticket refund 88" in text and "was added" in text
    withdrawn = client.post(f"/corrections/{row['id']}/withdraw", headers=hx).get_data(as_text=True)
    assert "You withdrew your correction" in withdrawn and "Withdraw this correction" not in withdrawn


def test_a_long_chinese_statement_survives_to_check_your_answers(client, auth, db):
    auth.login("train_expiring")
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    statement = "我没有乘坐这趟列车。" * 400  # 4,000 characters, ~12 KB: too big for a cookie
    client.post(f"/me/entries/{entry}/correction", data={"category": "other", "statement": statement})
    check = client.get(f"/me/entries/{entry}/correction/check").get_data(as_text=True)
    assert statement in check
    client.post(f"/me/entries/{entry}/correction/check")
    assert correction_row(db, entry)["statement"] == statement
    assert db.count("correction_drafts") == 0


def test_upheld_repair_restores_the_entry(client, auth, db, app):
    auth.login("train_expiring")
    entry = entry_id(db, "train_expiring", "railway_misconduct")
    file(client, entry, kind="restoration", commitment="yes")
    row = correction_row(db, entry)
    reviewer = app.test_client()
    staff_login(reviewer, "reviewer")
    case = reviewer.get(f"/admin/corrections/{row['id']}").get_data(as_text=True)
    assert "Restore credit" in case and "Forward to the source agency" not in case
    reviewer.post(f"/admin/corrections/{row['id']}/decide",
                  data={"outcome": "uphold", "action": "restore", "note": "Fine paid, commitment given."})
    assert entry_field(db, entry, "status") == "restored"
    me = client.get("/me").get_data(as_text=True)
    assert "No active restrictions" in me


def test_queue_lists_overdue_cases_before_later_ones(client, auth, db, app):
    auth.login("train_expiring")
    file(client, entry_id(db, "train_expiring", "railway_misconduct"))
    mixup = correction_row(db, entry_id(db, "mixup", "judgment_defaulter"))
    later = correction_row(db, entry_id(db, "train_expiring", "railway_misconduct"))
    db.execute("UPDATE corrections SET due_by = '2099-01-01' WHERE id = ?", [mixup["id"]])
    db.execute("UPDATE corrections SET due_by = '2020-01-06' WHERE id = ?", [later["id"]])
    reviewer = app.test_client()
    staff_login(reviewer, "reviewer")
    page = reviewer.get("/admin/corrections").get_data(as_text=True)
    assert page.index(later["reference"]) < page.index(mixup["reference"])
