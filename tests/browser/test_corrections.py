"""Corrections at 360 px: a resident files a correction from an entry, through check
your answers to the confirmation; a reviewer upholds it; the resident sees the new
status in the inbox and the restriction gone from /me."""
import re

import pytest
from playwright.sync_api import expect

from credit_self.db import make_engine, scalar
from tests.browser.conftest import check_page, staff_sign_in, text_of, open_menu
from tests.conftest import persona

pytestmark = pytest.mark.browser


def test_file_correction_reviewer_upholds_resident_sees_result(browser, live_server, page):
    resident = persona("train_expiring")
    engine = make_engine(live_server.database_url)
    with engine.connect() as conn:
        entry_id = scalar(conn, "SELECT id FROM entries WHERE id_number = :id_number "
                                "AND list_code = 'railway_misconduct'",
                          id_number=resident["id_number"])
    engine.dispose()

    page.goto("/login")
    page.fill("#id_number", resident["id_number"])
    page.fill("#password", resident["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".banner--restricted")).to_be_visible()
    page.goto(f"/me/entries/{entry_id}")
    check_page(page)
    page.get_by_role("link", name=re.compile("^File a correction")).click()
    expect(page.locator("h1")).to_have_text("File a correction")
    check_page(page)
    # Too short first: GOV.UK error summary, then fix it.
    page.get_by_label("The facts are wrong").check()
    page.fill("#statement", "Too short")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".error-summary")).to_contain_text("20 characters or more")
    check_page(page)
    page.fill("#statement", "I was not on that train: my ticket was refunded before departure.")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("h1")).to_have_text("Check your answers")
    check_page(page)
    page.get_by_role("button", name="Send your correction").click()
    expect(page.locator("h1")).to_have_text("Correction sent")
    check_page(page)
    reference = text_of(page, ".panel__reference")
    assert re.fullmatch(r"C-\d{4}-\d{6}", reference)

    reviewer = browser.new_context(viewport={"width": 360, "height": 800}, base_url=live_server)
    staff = reviewer.new_page()
    staff.set_default_timeout(10_000)
    staff_sign_in(staff, live_server, "reviewer")
    staff.goto("/admin/corrections")
    check_page(staff)
    staff.get_by_role("link", name=reference).click()
    expect(staff.locator("h1")).to_have_text(f"Case {reference}")
    check_page(staff)
    staff.get_by_role("button", name="Start review").click()
    expect(staff.locator(".notice--success")).to_contain_text("Review started")
    staff.get_by_label("Uphold: the resident is right").check()
    staff.get_by_label("Withdraw the entry").check()
    staff.fill("#note", "The railway confirmed the refund; the entry was another passenger's.")
    staff.get_by_role("button", name="Record decision").click()
    expect(staff.locator(".notice--success")).to_contain_text("Decision recorded")
    reviewer.close()

    page.goto("/me")
    expect(page.locator(".main-nav")).to_contain_text("unread")
    expect(page.locator(".banner--clear")).to_contain_text("No active restrictions")
    check_page(page)
    open_menu(page)
    page.get_by_role("link", name=re.compile("^Inbox")).click()
    expect(page.locator("main")).to_contain_text("Upheld")
    # One thread for the correction, in plain words.
    thread = page.locator("article.message", has_text=reference)
    expect(thread).to_have_count(1)
    expect(thread).to_contain_text("Your entry on the Railway passenger misconduct list was withdrawn.")
    expect(thread).to_contain_text("1 restriction was lifted.")
    check_page(page)
    page.get_by_role("link", name=re.compile(f"^View correction {reference}")).first.click()
    expect(page.locator("main")).to_contain_text("The entry was withdrawn.")
    check_page(page)
