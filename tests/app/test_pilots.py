"""Scoring pilots: enrolment default, opt in/out, erasure, pause/close, admin console."""
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from bs4 import BeautifulSoup

from credit_self.pilots import data
from tests.conftest import persona, staff_login

MEMBER = persona("pilot_member")["id_number"]
CLEAN = persona("clean")["id_number"]  # Shanghai (3101): covered by shanghai_civic only


def soup(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def card_text(client, code):
    page = soup(client.get("/pilots"))
    card = page.find(id=f"pilot-{code}")
    return " ".join(card.get_text().split()) if card else None


def last_audit_seq(db):
    """The audit log's end before a test acts: the seed already wrote pilot events."""
    return db.scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_log")


def audit_actions(db, subject=None, after=0):
    if subject:
        return [r["action"] for r in db.query(
            "SELECT action FROM audit_log WHERE subject = ? AND seq > ? ORDER BY seq",
            [subject, after])]
    return [r["action"] for r in db.query(
        "SELECT action FROM audit_log WHERE seq > ? ORDER BY seq", [after])]


def erase(code):
    """Erasure as the confirmation page posts it (the checkbox alone only asks first)."""
    return {f"pilot-{code}-erase": "yes", f"pilot-{code}-confirmed": "yes"}


def set_status(db, code, status):
    db.execute("UPDATE pilots SET status = ? WHERE code = ?", [status, code])


# --- residents ------------------------------------------------------------------


def test_pilots_page_needs_a_resident(client):
    response = client.get("/pilots")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_default_is_not_enrolled_and_nothing_is_scored(client, auth, db):
    auth.login("clean")
    text = card_text(client, "shanghai_civic")
    assert "You are not enrolled" in text
    assert "Your score" not in text and "Ledger" not in text
    assert "Before you opt in" in text and "A low score alone may never" in text
    # Only pilots covering the resident's region are shown.
    assert card_text(client, "rongcheng") is None
    assert db.scalar("SELECT COUNT(*) FROM enrolments WHERE id_number = ?", [CLEAN]) == 0


def test_rules_and_grades_follow_the_pilot_and_the_language(client, auth, db):
    # The rules-and-grades sections are rendered once and kept: a change to the rules
    # must still show at once, and each language keeps its own.
    import json

    auth.login("clean")
    details = " ".join(soup(client.get("/pilots")).find(class_="pilot-details").get_text().split())
    assert details.startswith("What this pilot scores")
    chinese = soup(client.get("/pilots", headers={"Accept-Language": "zh-CN"}))
    assert "What this pilot scores" not in chinese.find(class_="pilot-details").get_text()
    rules = json.loads(db.scalar("SELECT rules FROM pilots WHERE code = 'shanghai_civic'"))
    first = next(iter(rules))
    rules[first]["label_en"] = "A renamed rule"
    db.execute("UPDATE pilots SET rules = ? WHERE code = 'shanghai_civic'",
               [json.dumps(rules, ensure_ascii=False)])
    assert "A renamed rule" in card_text(client, "shanghai_civic")
    assert "What this pilot scores" in card_text(client, "shanghai_civic")


def test_pilot_of_another_region_is_not_found(client, auth):
    auth.login("clean")
    assert client.post("/pilots/rongcheng/opt-in").status_code == 404


def test_enrolled_member_sees_score_grade_ledger_and_chart(client, auth, db):
    auth.login("pilot_member")
    page = soup(client.get("/pilots"))
    card = page.find(id="pilot-rongcheng")
    pilot = data.get_pilot(db, "rongcheng")
    deltas = [r["delta"] for r in db.query(
        "SELECT delta FROM score_events WHERE pilot_code = 'rongcheng' AND id_number = ?",
        [MEMBER])]
    expected = pilot["base_score"] + sum(deltas)
    assert card.select_one(".pilot-score strong").get_text() == str(expected)
    items = card.select(".ledger__item")
    assert len(items) == len(deltas) == 8
    # Newest first: the top item's running total is the current score.
    assert f"Totalafter{expected}" in items[0].get_text().replace("\n", "").replace(" ", "")
    svg = card.find("svg")
    assert svg["role"] == "img" and svg.find("polyline")
    assert card.find(id=svg["aria-describedby"]).get_text().strip()
    # Each event names its rule's legal basis.
    assert "Legal basis" in items[0].get_text()


# A 360 px phone draws the chart in about 296 px (the page's and the card's padding).
CHART_WIDTH_AT_360 = 296


@pytest.mark.parametrize("language, day", [
    ("en", r"\d{1,2} [A-Z][a-z]+ \d{4}"), ("zh_CN", r"\d{4}年\d{1,2}月\d{1,2}日")])
def test_score_chart_labels_are_dates_in_the_readers_language_and_legible_on_a_phone(
        client, auth, language, day):
    auth.login("pilot_member")
    client.set_cookie("lang", language)
    svg = soup(client.get("/pilots")).find(id="pilot-rongcheng").find("svg")
    view_width = float(svg["viewbox"].split()[2])
    labels = svg.find_all("text")
    assert len(labels) == 4
    for label in labels:
        assert float(label["font-size"]) * CHART_WIDTH_AT_360 / view_width >= 12, label
    dates = [label.get_text() for label in labels if not label.get_text().isdigit()]
    assert len(dates) == 2 and all(re.fullmatch(day, text) for text in dates), dates


def test_score_equals_base_plus_deltas_and_matches_ledger(db):
    pilot = data.get_pilot(db, "rongcheng")
    standing = data.standing(db, pilot, MEMBER)
    assert standing.score == pilot["base_score"] + sum(e["delta"] for e in standing.ledger)
    assert standing.ledger[-1]["running_total"] == standing.score
    running = pilot["base_score"]
    for event in standing.ledger:
        running += event["delta"]
        assert event["running_total"] == running


def test_grade_cap_lowers_the_grade(db):
    pilot = data.get_pilot(db, "rongcheng")
    assert data.grade_for(pilot, 1000)["grade"] == "A"
    assert data.grade_for(pilot, 1000, cap="C")["grade"] == "C"
    assert data.grade_for(pilot, 500, cap="C")["grade"] == "D"
    assert data.grade_for(pilot, 1050)["grade"] == "AAA"


def test_opt_in_and_out_round_trip(client, auth, db):
    auth.login("clean")
    response = client.post("/pilots/shanghai_civic/opt-in")
    assert response.status_code == 303
    assert data.enrolment_state(db, "shanghai_civic", CLEAN) == "in"
    text = card_text(client, "shanghai_civic")
    assert "You are enrolled" in text and "Your score" in text and "1000" in text
    response = client.post("/pilots/shanghai_civic/opt-out")
    assert response.status_code == 303
    assert data.enrolment_state(db, "shanghai_civic", CLEAN) == "out"
    text = card_text(client, "shanghai_civic")
    assert "You are not enrolled" in text and "Your score" not in text
    history = [(r["old_state"], r["new_state"]) for r in db.query(
        "SELECT * FROM enrolment_history WHERE id_number = ? ORDER BY id", [CLEAN])]
    assert history == [("out", "in"), ("in", "out")]
    assert audit_actions(db, CLEAN)[-2:] == ["pilot_opt_in", "pilot_opt_out"]


def test_htmx_toggle_returns_only_the_card(client, auth):
    auth.login("clean")
    response = client.post("/pilots/shanghai_civic/opt-in", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="pilot-shanghai_civic"' in html
    assert "You have opted in" in html


def test_opt_out_hides_score_but_keeps_events_unless_erased(client, auth, db):
    auth.login("pilot_member")
    client.post("/pilots/rongcheng/opt-out")
    text = card_text(client, "rongcheng")
    assert "Your score" not in text and "Ledger" not in text
    assert "still holds 8 score events" in text
    assert data.events_held(db, "rongcheng", MEMBER) == 8
    # The remaining events can be erased later in one step.
    client.post("/pilots/rongcheng/opt-out", data=erase("rongcheng"))
    assert data.events_held(db, "rongcheng", MEMBER) == 0


def test_opt_out_with_erasure_removes_the_rows(client, auth, db):
    auth.login("pilot_member")
    response = client.post("/pilots/rongcheng/opt-out", data=erase("rongcheng"),
                           headers={"HX-Request": "true"})
    assert "8 score events were erased" in response.get_data(as_text=True)
    assert db.scalar("SELECT COUNT(*) FROM score_events WHERE id_number = ?", [MEMBER]) == 0
    detail = db.scalar("SELECT detail FROM audit_log WHERE action = 'pilot_events_erased' "
                       "AND subject = ?", [MEMBER])
    assert "erased 8 events" in detail
    # History of the enrolment is kept.
    assert db.scalar("SELECT COUNT(*) FROM enrolment_history WHERE id_number = ?",
                     [MEMBER]) >= 2
    # Opting in again starts from the base score.
    client.post("/pilots/rongcheng/opt-in")
    assert "1000" in card_text(client, "rongcheng")


def test_paused_pilot_refuses_opt_in_and_events_but_allows_opt_out(client, auth, db):
    set_status(db, "shanghai_civic", "paused")
    set_status(db, "rongcheng", "paused")
    auth.login("clean")
    text = card_text(client, "shanghai_civic")
    assert "Pilot paused" in text and "I agree: opt me in" not in text
    client.post("/pilots/shanghai_civic/opt-in")
    assert data.enrolment_state(db, "shanghai_civic", CLEAN) == "out"
    pilot = data.get_pilot(db, "rongcheng")
    with pytest.raises(data.PilotError) as refused:
        data.record_event(db, pilot, MEMBER, "heroic_act", datetime.now().date(), "x", "y",
                          "test", "2026-01-01T00:00:00+00:00")
    assert refused.value.code == "event_paused"
    auth.logout()
    auth.login("pilot_member")
    client.post("/pilots/rongcheng/opt-out")
    assert data.enrolment_state(db, "rongcheng", MEMBER) == "out"


def test_opt_in_refused_when_paused_after_the_page_was_read(db):
    pilot = data.get_pilot(db, "shanghai_civic")
    set_status(db, "shanghai_civic", "paused")
    with pytest.raises(data.PilotError) as refused:
        data.opt_in(db, pilot, CLEAN, "test", "2026-01-01T00:00:00+00:00")
    assert refused.value.code == "opt_in_paused"
    assert data.enrolment_state(db, "shanghai_civic", CLEAN) == "out"


def test_closed_pilot_purge_after_retention(app, db):
    pilot = data.get_pilot(db, "rongcheng")
    events = "SELECT COUNT(*) FROM score_events WHERE pilot_code = 'rongcheng'"
    before = db.scalar(events)
    assert before > 0
    seq = last_audit_seq(db)
    closed_at = datetime(2026, 1, 10, 8, 0, tzinfo=timezone.utc)
    data.set_status(db, pilot, "close", "test", "Programme ended", closed_at.isoformat())
    runner = app.test_cli_runner()
    app.config["NOW"] = closed_at + timedelta(days=data.RETENTION_DAYS - 1)
    result = runner.invoke(args=["purge-closed-pilots"])
    assert "No closed pilot" in result.output
    assert db.scalar(events) == before
    app.config["NOW"] = closed_at + timedelta(days=data.RETENTION_DAYS)
    result = runner.invoke(args=["purge-closed-pilots"])
    assert f"rongcheng: erased {before} events" in result.output
    assert db.scalar(events) == 0
    # Safe to run again; enrolment history is kept.
    result = runner.invoke(args=["purge-closed-pilots"])
    assert result.exit_code == 0 and "erased 0 events" in result.output
    assert audit_actions(db, after=seq).count("pilot_closed_purge") == 1
    assert db.scalar("SELECT COUNT(*) FROM enrolment_history WHERE pilot_code = 'rongcheng'") > 0


# --- administrators ---------------------------------------------------------------


def test_resident_gets_403_on_every_admin_route(client, auth):
    auth.login("pilot_member")
    for method, url in [("get", "/admin/pilots"), ("get", "/admin/pilots/rongcheng"),
                        ("get", "/admin/pilots/rongcheng/pause"),
                        ("post", "/admin/pilots/rongcheng/pause"),
                        ("get", "/admin/pilots/rongcheng/events"),
                        ("post", "/admin/pilots/rongcheng/events/lookup"),
                        ("post", "/admin/pilots/rongcheng/events")]:
        assert getattr(client, method)(url).status_code == 403, url


def test_reviewer_cannot_reach_pilot_admin(client):
    staff_login(client, "reviewer")
    assert client.get("/admin/pilots/rongcheng").status_code == 403


def test_pilot_admin_cannot_act_on_another_pilot(client, db):
    staff_login(client, "pilot_admin")
    for method, url in [("get", "/admin/pilots/shanghai_civic"),
                        ("get", "/admin/pilots/shanghai_civic/pause"),
                        ("post", "/admin/pilots/shanghai_civic/pause"),
                        ("post", "/admin/pilots/shanghai_civic/close"),
                        ("get", "/admin/pilots/shanghai_civic/events"),
                        ("post", "/admin/pilots/shanghai_civic/events/lookup"),
                        ("post", "/admin/pilots/shanghai_civic/events")]:
        assert getattr(client, method)(url, data={"reason": "x"}).status_code == 403, url
    assert data.get_pilot(db, "shanghai_civic")["status"] == "active"


def test_superadmin_may_act_on_every_pilot(client):
    staff_login(client, "superadmin")
    page = client.get("/admin/pilots").get_data(as_text=True)
    assert "/admin/pilots/shanghai_civic" in page and "/admin/pilots/rongcheng" in page
    assert client.get("/admin/pilots/shanghai_civic").status_code == 200


def test_admin_dashboard_shows_figures_and_grade_chart(client, db):
    staff_login(client, "pilot_admin")
    response = client.get("/admin/pilots")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/pilots/rongcheng")
    page = soup(client.get("/admin/pilots/rongcheng"))
    enrolled = db.scalar("SELECT COUNT(*) FROM enrolments WHERE pilot_code = 'rongcheng' "
                         "AND state = 'in'")
    assert f"Enrolled{enrolled}" in page.find("dl").get_text().replace("\n", "").replace(" ", "")
    assert page.find("svg", attrs={"role": "img"}).find_all("rect")
    counts = [int(td.get_text()) for td in page.select("#grades-table td")]
    assert sum(counts) == enrolled


def test_pause_needs_a_reason_then_resume(client, db):
    staff_login(client, "pilot_admin")
    seq = last_audit_seq(db)
    response = client.post("/admin/pilots/rongcheng/pause", data={"reason": ""})
    assert response.status_code == 200 and "Enter the reason for this change" in response.get_data(as_text=True)
    assert data.get_pilot(db, "rongcheng")["status"] == "active"
    response = client.post("/admin/pilots/rongcheng/pause", data={"reason": "Audit of rules"})
    assert response.status_code == 303
    assert data.get_pilot(db, "rongcheng")["status"] == "paused"
    client.post("/admin/pilots/rongcheng/resume", data={"reason": "Audit done"})
    assert data.get_pilot(db, "rongcheng")["status"] == "active"
    rows = db.query("SELECT old_status, new_status, reason FROM pilot_status_history "
                    "WHERE pilot_code = 'rongcheng' ORDER BY id")
    assert [(r["old_status"], r["new_status"], r["reason"]) for r in rows] == [
        ("active", "paused", "Audit of rules"), ("paused", "active", "Audit done")]
    assert {"pilot_pause", "pilot_resume"} <= set(audit_actions(db, after=seq))
    # The status history speaks the reader's language.
    chinese = soup(client.get("/admin/pilots/rongcheng", headers={"Accept-Language": "zh-CN"}))
    assert "已暂停 → 生效中" in chinese.find("main").get_text()


def test_events_this_month_count_from_midnight_china_time(db):
    pilot = data.get_pilot(db, "rongcheng")
    first_of_month = date(2030, 3, 1)  # after every seeded event
    before = data.figures(db, pilot, first_of_month)["events_this_month"]
    for recorded_at in ("2030-02-28T15:30:00+00:00",   # 23:30 on 28 February in China
                        "2030-02-28T16:30:00+00:00"):  # 00:30 on 1 March in China
        data.record_event(db, pilot, MEMBER, "heroic_act", first_of_month, "x", "y", "test",
                          recorded_at)
    assert data.figures(db, pilot, first_of_month)["events_this_month"] == before + 1


def _event_form(**overrides):
    today = datetime.now().date()
    form = {"id_number": MEMBER, "event_type": "heroic_act",
            "occurred_on-day": str(today.day), "occurred_on-month": str(today.month),
            "occurred_on-year": str(today.year),
            "reason": "Rescued a swimmer", "source": "Rongcheng committee"}
    form.update(overrides)
    return form


def test_admin_records_an_event_for_an_enrolled_resident(client, db):
    staff_login(client, "pilot_admin")
    seq = last_audit_seq(db)
    response = client.post("/admin/pilots/rongcheng/events/lookup", data={"id_number": MEMBER})
    assert "Enrolled" in response.get_data(as_text=True)
    assert "pilot_resident_lookup" in audit_actions(db, MEMBER, after=seq)
    before = data.events_held(db, "rongcheng", MEMBER)
    response = client.post("/admin/pilots/rongcheng/events", data=_event_form())
    assert response.status_code == 303
    assert data.events_held(db, "rongcheng", MEMBER) == before + 1
    assert "pilot_event_recorded" in audit_actions(db, MEMBER, after=seq)


@pytest.mark.parametrize("overrides, message", [
    ({"event_type": "neighbour_complaint"}, "names no legal basis"),
    ({"event_type": "made_up"}, "Choose an event from the pilot"),
    ({"id_number": persona("clean")["id_number"]}, "No resident of this pilot"),
])
def test_refused_events_store_nothing(client, db, overrides, message):
    staff_login(client, "pilot_admin")
    before = db.count("score_events")
    response = client.post("/admin/pilots/rongcheng/events", data=_event_form(**overrides))
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert db.count("score_events") == before


def test_event_for_not_enrolled_or_paused_is_refused(client, db):
    staff_login(client, "pilot_admin")
    other = db.scalar(
        "SELECT id_number FROM residents WHERE region_code = '371082' AND id_number NOT IN "
        "(SELECT id_number FROM enrolments WHERE state = 'in') ORDER BY id_number LIMIT 1")
    before = db.count("score_events")
    response = client.post("/admin/pilots/rongcheng/events", data=_event_form(id_number=other))
    assert "not enrolled in the pilot" in response.get_data(as_text=True)
    set_status(db, "rongcheng", "paused")
    response = client.post("/admin/pilots/rongcheng/events", data=_event_form())
    assert "The pilot is paused" in response.get_data(as_text=True)
    assert db.count("score_events") == before


def test_toggles_need_csrf(csrf_app, db):
    client = csrf_app.test_client()
    token = soup(client.get("/login")).find("input", attrs={"name": "csrf_token"})["value"]
    p = persona("pilot_member")
    client.post("/login", data={"id_number": p["id_number"], "password": p["password"],
                                "csrf_token": token})
    assert client.get("/pilots").status_code == 200
    assert client.post("/pilots/rongcheng/opt-out", data=erase("rongcheng")).status_code == 400
    assert data.enrolment_state(db, "rongcheng", MEMBER) == "in"
    assert data.events_held(db, "rongcheng", MEMBER) == 8


def test_seed_pilot_events_command(app, db):
    result = app.test_cli_runner().invoke(
        args=["seed-pilot-events", "--pilot", "shanghai_civic", "--share", "0.5"])
    assert result.exit_code == 0, result.output
    enrolled = db.scalar("SELECT COUNT(*) FROM enrolments WHERE pilot_code = 'shanghai_civic'")
    assert enrolled > 0 and f"enrolled {enrolled} residents" in result.output
    # Only rules with a legal basis were used.
    pilot = data.get_pilot(db, "shanghai_civic")
    used = {r["event_type"] for r in db.query(
        "SELECT DISTINCT event_type FROM score_events WHERE pilot_code = 'shanghai_civic'")}
    assert all(data.rule_applicable(pilot["rules"][t]) for t in used)
    # Demo personas keep their documented state.
    assert data.enrolment_state(db, "shanghai_civic", CLEAN) == "out"


def test_seed_pilot_events_writes_a_city_in_batches(app, db, monkeypatch):
    """A city's pilot enrols millions: candidates are read and written a batch at a time
    (memory stays flat), and every batch's residents get their opt-in and events."""
    monkeypatch.setattr(data, "SEED_BATCH", 7)
    result = app.test_cli_runner().invoke(
        args=["seed-pilot-events", "--pilot", "shanghai_civic", "--share", "0.5"])
    assert result.exit_code == 0, result.output
    enrolled = db.query("SELECT id_number FROM enrolments WHERE pilot_code = 'shanghai_civic'")
    assert len(enrolled) > 3 * 7 and f"enrolled {len(enrolled)} residents" in result.output
    histories = db.scalar("SELECT COUNT(*) FROM enrolment_history "
                          "WHERE pilot_code = 'shanghai_civic' AND new_state = 'in'")
    without_events = db.scalar(
        "SELECT COUNT(*) FROM enrolments e WHERE e.pilot_code = 'shanghai_civic' AND NOT EXISTS "
        "(SELECT 1 FROM score_events s WHERE s.pilot_code = e.pilot_code "
        "AND s.id_number = e.id_number)")
    assert histories >= len(enrolled) and without_events == 0
    assert data.enrolment_state(db, "shanghai_civic", CLEAN) == "out"


def test_closing_tells_residents_and_opt_out_still_works(client, auth, db):
    staff_login(client, "pilot_admin")
    seq = last_audit_seq(db)
    assert client.post("/admin/pilots/rongcheng/close", data={"reason": "Programme ended"}).status_code == 303
    assert data.get_pilot(db, "rongcheng")["closed_at"]
    assert "pilot_close" in audit_actions(db, after=seq)
    # Closed is final: it cannot be resumed.
    client.post("/admin/pilots/rongcheng/resume", data={"reason": "x"})
    assert data.get_pilot(db, "rongcheng")["status"] == "closed"
    client.post("/logout")
    auth.login("pilot_member")
    text = card_text(client, "rongcheng")
    assert "This pilot has closed" in text and f"erased {data.RETENTION_DAYS} days after closing" in text
    client.post("/pilots/rongcheng/opt-out", data=erase("rongcheng"))
    assert data.enrolment_state(db, "rongcheng", MEMBER) == "out"
    assert data.events_held(db, "rongcheng", MEMBER) == 0


def test_htmx_refusal_returns_the_card_with_the_reason(client, auth, db):
    set_status(db, "shanghai_civic", "paused")
    auth.login("clean")
    response = client.post("/pilots/shanghai_civic/opt-in", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "notice--warning" in html
    assert "nobody can opt in until it resumes" in html
    assert data.enrolment_state(db, "shanghai_civic", CLEAN) == "out"
