"""Irreversible actions ask first, saying what will be lost, and work without JavaScript:
erasing pilot history, revoking a certificate, withdrawing a correction, closing a pilot.
Pilot events dated before the resident's opt-in are refused."""
from datetime import datetime, timedelta

from bs4 import BeautifulSoup

from credit_self.pilots import data as pilots
from tests.conftest import AuthActions, persona, staff_login

MEMBER = persona("pilot_member")["id_number"]


def main_text(response) -> str:
    return " ".join(BeautifulSoup(response.get_data(as_text=True), "html.parser")
                    .select_one("main").get_text(" ").split())


def confirm_form(response) -> dict:
    """The confirmation page's POST form: its action and its fields."""
    form = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(
        "main form[method=post]")
    return {"action": form["action"],
            "data": {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}}


# ---------------------------------------------------------------- pilot history


def test_erasing_pilot_history_asks_first_saying_what_is_lost(client, auth, db):
    auth.login("pilot_member")
    response = client.post("/pilots/rongcheng/opt-out", data={"pilot-rongcheng-erase": "yes"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/pilots/rongcheng/erase")
    assert pilots.events_held(db, "rongcheng", MEMBER) == 8  # nothing erased yet
    assert pilots.enrolment_state(db, "rongcheng", MEMBER) == "in"
    page = client.get("/pilots/rongcheng/erase")
    text = main_text(page)
    grade = pilots.standing(db, pilots.get_pilot(db, "rongcheng"), MEMBER).grade["grade"]
    assert f"Your 8 score events and grade {grade} will be deleted." in text
    assert "If you join again, you start again at 1000 points." in text
    assert "You will also be opted out" in text
    form = confirm_form(page)
    response = client.post(form["action"], data=form["data"])
    assert response.status_code == 303
    assert pilots.events_held(db, "rongcheng", MEMBER) == 0
    assert "8 score events were erased" in client.get("/pilots").get_data(as_text=True)


def test_htmx_erasure_leaves_the_card_for_the_confirmation_page(client, auth, db):
    auth.login("pilot_member")
    response = client.post("/pilots/rongcheng/opt-out", data={"pilot-rongcheng-erase": "yes"},
                           headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/pilots/rongcheng/erase"
    assert pilots.events_held(db, "rongcheng", MEMBER) == 8


def test_erasing_later_is_a_link_to_the_confirmation(client, auth, db):
    auth.login("pilot_member")
    client.post("/pilots/rongcheng/opt-out")
    card = BeautifulSoup(client.get("/pilots").get_data(as_text=True), "html.parser").select_one(
        "#pilot-rongcheng")
    link = card.select_one('a[href="/pilots/rongcheng/erase"]')
    assert link is not None and "Erase my score events" in link.get_text()
    text = main_text(client.get("/pilots/rongcheng/erase"))
    assert "Your 8 score events" in text and "You will also be opted out" not in text


def _event_on(day):
    return {"id_number": MEMBER, "event_type": "heroic_act", "occurred_on-day": str(day.day),
            "occurred_on-month": str(day.month), "occurred_on-year": str(day.year),
            "reason": "Rescued a swimmer", "source": "Rongcheng committee"}


def test_an_event_dated_before_the_current_opt_in_is_refused(app, db):
    resident = app.test_client()
    AuthActions(resident).login("pilot_member")
    resident.post("/pilots/rongcheng/opt-out")
    resident.post("/pilots/rongcheng/opt-in")  # joined again today
    admin = app.test_client()
    staff_login(admin, "pilot_admin")
    before = pilots.events_held(db, "rongcheng", MEMBER)
    yesterday = datetime.now().date() - timedelta(days=1)
    response = admin.post("/admin/pilots/rongcheng/events", data=_event_on(yesterday))
    assert response.status_code == 200
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    message = "The event happened before this resident opted in"
    assert message in page.select_one(".error-summary").get_text()
    assert page.select_one('.error-summary a[href="#occurred_on"]') is not None
    assert pilots.events_held(db, "rongcheng", MEMBER) == before


# ---------------------------------------------------------------- certificates


def test_revoking_a_certificate_asks_first_without_javascript(client, auth, db):
    auth.login("clean")
    client.post("/certificates", data={"purpose": "rental", "audience": "Mr Wang", "days": "3"})
    certificate = db.scalar("SELECT id FROM certificates WHERE id_number = ? ORDER BY issued_at DESC",
                            [persona("clean")["id_number"]])
    for page in ("/certificates", f"/certificates/{certificate}"):
        html = client.get(page).get_data(as_text=True)
        soup = BeautifulSoup(html, "html.parser")
        assert soup.select_one(f'main a[href="/certificates/{certificate}/revoke"]') is not None
        assert soup.select_one(f'form[action="/certificates/{certificate}/revoke"]') is None
    page = client.get(f"/certificates/{certificate}/revoke")
    assert "anyone who checks it will see" in main_text(page)
    assert db.scalar("SELECT revoked_at FROM certificates WHERE id = ?", [certificate]) is None
    form = confirm_form(page)
    assert client.post(form["action"], data=form["data"]).status_code == 303
    assert db.scalar("SELECT revoked_at FROM certificates WHERE id = ?", [certificate]) is not None
    # Nothing left to confirm: the page sends the resident to the certificate.
    assert client.get(f"/certificates/{certificate}/revoke").status_code == 303


# ---------------------------------------------------------------- corrections


def test_withdrawing_a_correction_asks_first_saying_under_dispute_ends(client, auth, db):
    auth.login("mixup")
    correction = db.query("SELECT id, reference FROM corrections WHERE id_number = ? "
                          "AND status = 'submitted'", [persona("mixup")["id_number"]])[0]
    detail = BeautifulSoup(client.get(f"/corrections/{correction['id']}").get_data(as_text=True),
                           "html.parser")
    link = detail.select_one(f'a[href="/corrections/{correction["id"]}/withdraw"]')
    assert link is not None and correction["reference"] in link.get_text()
    page = client.get(f"/corrections/{correction['id']}/withdraw")
    assert 'stops being marked "Under dispute"' in main_text(page)
    assert db.scalar("SELECT status FROM corrections WHERE id = ?", [correction["id"]]) == "submitted"
    form = confirm_form(page)
    assert client.post(form["action"], data=form["data"]).status_code == 303
    assert db.scalar("SELECT status FROM corrections WHERE id = ?", [correction["id"]]) == "withdrawn"


# ---------------------------------------------------------------- closing a pilot


def test_closing_a_pilot_says_how_many_residents_and_events_it_ends(client, db):
    staff_login(client, "pilot_admin")
    held = pilots.held_by_pilot(db, "rongcheng")
    text = main_text(client.get("/admin/pilots/rongcheng/close"))
    assert held["enrolled"] >= 1 and held["events"] >= 8
    residents = "resident stops" if held["enrolled"] == 1 else "residents stop"
    assert f"{held['enrolled']} enrolled {residents} being scored." in text
    assert f"{held['events']} score events will be erased 30 days after closing." in text
    assert pilots.get_pilot(db, "rongcheng")["status"] == "active"
