"""Irreversible actions ask first, at 360 px and without JavaScript: withdrawing a
correction goes through a confirmation page that says "Under dispute" ends."""
from datetime import datetime, timezone

import pytest
from playwright.sync_api import Page, expect

from credit_self.corrections import data
from credit_self.db import make_engine, scalar
from tests.browser.conftest import check_page, sign_in
from tests.conftest import persona

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
