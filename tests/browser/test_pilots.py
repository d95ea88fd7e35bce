"""Scoring pilots at 360 px: a resident opts in, sees the ledger and chart, opts out with
erasure (htmx card swaps); an admin pauses and resumes a pilot; both languages."""
import pytest
from playwright.sync_api import Page, expect

from credit_self.db import insert_many, make_engine, scalar, write_transaction
from tests.browser.conftest import check_page, sign_in, staff_sign_in, open_menu
from tests.conftest import persona

pytestmark = pytest.mark.browser


def add_events(database_url: str, id_number: str) -> None:
    """The pilot's authority records two events (what an admin would do)."""
    engine = make_engine(database_url)
    with engine.connect() as conn, write_transaction(conn):
        insert_many(conn, "score_events", [
            {"pilot_code": "shanghai_civic", "id_number": id_number, "event_type": "blood_donation",
             "delta": 5, "reason": "Blood donation", "source": "Shanghai Blood Center",
             "occurred_on": "2026-01-05", "recorded_at": "2026-01-06T02:00:00+00:00"},
            {"pilot_code": "shanghai_civic", "id_number": id_number, "event_type": "volunteer_service",
             "delta": 5, "reason": "20 hours volunteering", "source": "Volunteer federation",
             "occurred_on": "2026-02-05", "recorded_at": "2026-02-06T02:00:00+00:00"},
        ])
    engine.dispose()


def events_held(database_url: str, id_number: str) -> int:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        held = scalar(conn, "SELECT COUNT(*) FROM score_events WHERE id_number = :id_number",
                      id_number=id_number)
    engine.dispose()
    return held


def test_resident_opts_in_sees_ledger_and_chart_then_opts_out_with_erasure(page: Page, live_server):
    sign_in(page, "clean")
    open_menu(page)
    page.get_by_role("link", name="Scoring pilots").click()
    expect(page.locator("h1")).to_have_text("Scoring pilots")
    card = page.locator("#pilot-shanghai_civic")
    expect(card).to_contain_text("You are not enrolled")
    expect(card).to_contain_text("Before you opt in")
    check_page(page)
    card.get_by_role("button", name="I agree: opt me in").click()
    expect(card.locator("[role=status]")).to_contain_text("You have opted in")
    expect(card).to_contain_text("Your score")
    check_page(page)

    add_events(live_server.database_url, persona("clean")["id_number"])
    page.reload()
    card = page.locator("#pilot-shanghai_civic")
    expect(card.locator(".pilot-score")).to_contain_text("1010")
    expect(card.locator(".ledger__item")).to_have_count(2)
    expect(card.locator("svg[role=img] polyline")).to_have_count(1)
    check_page(page)

    card.get_by_label("Also erase my 2 score events").check()
    card.get_by_role("button", name="Opt out of this pilot").click()
    # Erasing asks first, saying what will be lost.
    expect(page.locator("h1")).to_have_text("Erase your score events?")
    expect(page.locator("main")).to_contain_text("you start again at 1000 points")
    check_page(page)
    page.get_by_role("button", name="Yes, erase my score events").click()
    expect(page.locator("[role=status]").first).to_contain_text("2 score events were erased")
    card = page.locator("#pilot-shanghai_civic")
    expect(card).to_contain_text("You are not enrolled")
    expect(card.locator(".ledger__item")).to_have_count(0)
    check_page(page)
    assert events_held(live_server.database_url, persona("clean")["id_number"]) == 0

    # Chinese: the same page, complete.
    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("信用积分试点")
    expect(page.locator("#pilot-shanghai_civic")).to_contain_text("您未参加")
    check_page(page)
    page.get_by_role("link", name="English").click()


def test_member_sees_ledger_without_javascript(page_without_js: Page):
    page = page_without_js
    sign_in(page, "pilot_member")
    page.goto("/pilots")
    card = page.locator("#pilot-rongcheng")
    expect(card.locator(".ledger__item")).to_have_count(8)
    expect(card.locator("svg[role=img]")).to_have_count(1)


def test_admin_pauses_and_resumes_the_pilot(page: Page, live_server):
    staff_sign_in(page, live_server, "pilot_admin")
    page.get_by_role("link", name="Scoring pilot").click()
    expect(page.locator("h1")).to_have_text("Rongcheng personal credit points pilot")
    expect(page.locator("svg[role=img] rect").first).to_be_attached()
    check_page(page)
    page.get_by_role("link", name="Pause the pilot").click()
    expect(page.locator("h1")).to_have_text("Pause the pilot")
    page.get_by_role("button", name="Confirm: pause").click()
    expect(page.locator(".error-summary")).to_contain_text("Enter the reason for this change")
    check_page(page)
    page.fill("#reason", "Annual review of the rule table")
    page.get_by_role("button", name="Confirm: pause").click()
    expect(page.locator(".tags")).to_contain_text("Paused")
    expect(page.locator("main")).to_contain_text("Annual review of the rule table")
    page.get_by_role("link", name="Resume the pilot").click()
    check_page(page)
    page.fill("#reason", "Review finished")
    page.get_by_role("button", name="Confirm: resume").click()
    expect(page.locator(".tags")).to_contain_text("Active")
    # Chinese admin page ("Active" reads 生效中 in every catalog, pilots included).
    page.get_by_role("link", name="中文").click()
    expect(page.locator(".tags")).to_contain_text("生效中")
    check_page(page)
    page.get_by_role("link", name="English").click()


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_score_chart_labels_are_legible_dates_that_fit_at_360px(page: Page, live_server, language):
    sign_in(page, "pilot_member")
    page.goto(f"/language/{language}?next=/pilots")
    chart = page.locator("#pilot-rongcheng svg.pilot-chart")
    expect(chart).to_be_visible()
    labels = chart.evaluate("""svg => {
        const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        const box = svg.getBoundingClientRect();
        return [...svg.querySelectorAll('text')].map(text => {
            const r = text.getBoundingClientRect();
            return {text: text.textContent, px: parseFloat(text.getAttribute('font-size')) * scale,
                    inside: r.left >= box.left - 0.5 && r.right <= box.right + 0.5,
                    left: r.left, right: r.right, top: r.top};
        });
    }""")
    assert all(label["px"] >= 12 for label in labels), labels
    assert all(label["inside"] for label in labels), labels
    first, last = sorted((label for label in labels if not label["text"].isdigit()),
                         key=lambda label: label["left"])
    assert first["right"] < last["left"], labels  # the two dates do not overlap
    assert ("年" in first["text"]) == (language == "zh_CN"), labels
