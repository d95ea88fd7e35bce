"""At 360 px: irreversible actions ask first (withdrawing a correction goes through a
confirmation page that says "Under dispute" ends, also without JavaScript), and a
listing with a notice period reads as a notice before it counts."""
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, expect

from credit_self.corrections import data
from credit_self.db import engine_for, make_engine, scalar
from credit_self.transparency import imports
from tests.browser.conftest import check_page, sign_in, open_menu
from tests.conftest import make_test_app, persona

pytestmark = pytest.mark.browser
RESIDENT = persona("focus_three")


def open_correction(database_url: str) -> dict:
    """focus_three's open correction on their first entry (filed here when there is none)."""
    engine = make_engine(database_url)
    now = datetime.now(timezone.utc)
    with engine.connect() as conn:
        entry_id = scalar(conn, "SELECT MIN(id) FROM entries WHERE id_number = :id_number",
                          id_number=RESIDENT["id_number"])
        found = data.open_for_entry(conn, entry_id) or data.file_correction(
            conn, RESIDENT["id_number"], entry_id, data.OBJECTION, "wrong_facts",
            "The inspection record names another shop, not mine.", "", False, now, now.date(),
            f"resident:{RESIDENT['id_number']}")
    engine.dispose()
    return found


def test_the_withdraw_confirmation_fits_a_phone_and_can_be_left(page: Page, live_server):
    correction = open_correction(live_server.database_url)
    sign_in(page, "focus_three")
    page.goto(f"/corrections/{correction['id']}")
    page.get_by_role("link", name=f"Withdraw this correction {correction['reference']}").click()
    expect(page.locator("h1")).to_have_text(f"Withdraw correction {correction['reference']}?")
    expect(page.locator("main")).to_contain_text('stops being marked "Under dispute"')
    check_page(page)
    page.get_by_role("link", name="No, keep it open").click()
    expect(page.locator("h1")).to_have_text(f"Correction {correction['reference']}")
    expect(page.locator("main")).to_contain_text("Withdraw this correction")


def test_withdrawing_a_correction_asks_first_without_javascript(page_without_js: Page, live_server):
    page = page_without_js
    correction = open_correction(live_server.database_url)
    sign_in(page, "focus_three")
    page.goto(f"/corrections/{correction['id']}")
    page.get_by_role("link", name=f"Withdraw this correction {correction['reference']}").click()
    expect(page.locator("h1")).to_have_text(f"Withdraw correction {correction['reference']}?")
    page.get_by_role("button", name="Yes, withdraw it").click()
    expect(page.locator(".notice--success")).to_contain_text("You withdrew your correction")


def test_a_listing_with_a_notice_period_reads_as_a_notice_on_a_phone(page: Page, live_server):
    """Told before it counts: /me and the inbox at 360 px after a feed with publish_on."""
    publish_on = (datetime.now(timezone.utc).date() + timedelta(days=30)).isoformat()
    listed_on = datetime.now(timezone.utc).date().isoformat()
    # As `flask import-list` does it: inside the app, whose inbox listens for new entries.
    app = make_test_app(live_server.database_url)
    with app.app_context(), engine_for(app).connect() as conn:
        feed = [{"id_number": RESIDENT["id_number"], "name": RESIDENT["name"],
                 "facts": "持无效车票乘车", "document_no": "沪铁公（2026）88号",
                 "listed_on": listed_on, "expires_on": "", "source_agency": "上海铁路公安局",
                 "publish_on": publish_on}]
        results = imports.validate(conn, feed, "railway_misconduct", date.fromisoformat(listed_on))
        assert all(result.ok for result in results), [r.errors for r in results]
        batch = imports.store_batch(conn, results, "railway_misconduct", "feed.csv",
                                    "system:test", datetime.now(timezone.utc).isoformat())
        imports.apply_import(conn, results, "railway_misconduct", batch, "system:test",
                             datetime.now(timezone.utc).isoformat(timespec="seconds"),
                             allow_partial=False)

    sign_in(page, "focus_three")
    notices = page.locator("section", has=page.locator("#group-notices"))
    expect(notices).to_contain_text("Notice: takes effect on")
    check_page(page)
    open_menu(page)
    page.get_by_role("link", name=re.compile("^Inbox")).click()
    message = page.locator("article.message", has_text="You were added to the Railway passenger misconduct list")
    expect(message).to_contain_text("Until then this is a notice")
    check_page(page)
    message.get_by_role("link", name=re.compile(r"^Object to this entry ?: Railway passenger misconduct$")).click()
    expect(page.locator("h1")).to_have_text("File a correction")
