"""The idle-timeout warning (WCAG 2.2.1): a dialog before the end, and a way to stay."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, expect

from credit_self.db import execute, make_engine, scalar, write_transaction
from tests.browser.conftest import assert_accessible, scripts_loaded, sign_in
from tests.conftest import persona

pytestmark = pytest.mark.browser

WHO = "expired_only"


def last_used(database_url: str, ago: timedelta | None = None) -> datetime:
    """When the server last saw the persona's sessions; set it `ago` in the past first."""
    engine = make_engine(database_url)
    account = "SELECT id FROM accounts WHERE id_number = :id_number"
    try:
        with engine.connect() as conn:
            if ago is not None:
                with write_transaction(conn):
                    execute(conn, f"UPDATE account_sessions SET last_seen_at = :at "
                                  f"WHERE account_id = ({account})",
                            at=(datetime.now(timezone.utc) - ago).isoformat(timespec="seconds"),
                            id_number=persona(WHO)["id_number"])
            seen = scalar(conn, f"SELECT max(last_seen_at) FROM account_sessions "
                                f"WHERE account_id = ({account})",
                          id_number=persona(WHO)["id_number"])
    finally:
        engine.dispose()
    return datetime.fromisoformat(seen) if seen else None


def test_the_warning_comes_before_the_end_and_stay_signed_in_restarts_the_clock(
        page: Page, live_server):
    page.clock.install()
    sign_in(page, WHO)
    scripts_loaded(page)
    dialog = page.locator("#idle-warning")
    expect(dialog).to_be_hidden()
    # The server last saw this session 18½ minutes ago; the page looks at 18 minutes.
    last_used(live_server.database_url, timedelta(minutes=18, seconds=30))
    page.clock.fast_forward("18:01")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("You will be signed out soon")
    expect(dialog.locator("[data-idle-countdown]")).to_have_text(re.compile(r"^1:[0-3]\d$"))
    assert_accessible(page)
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    assert datetime.now(timezone.utc) - last_used(live_server.database_url) < timedelta(minutes=1)
    expect(page.locator("h1")).to_have_text("Your record")


def test_when_the_time_is_up_the_sign_in_page_says_why(page: Page, live_server):
    page.clock.install()
    sign_in(page, WHO)
    scripts_loaded(page)
    last_used(live_server.database_url, timedelta(minutes=21))
    page.clock.fast_forward("18:01")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator("main")).to_contain_text(
        "You were signed out after 20 minutes without activity")
