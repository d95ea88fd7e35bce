"""Transparency at 360 px: a reviewer opens a case and the resident sees it in
"Who looked"; a superadmin imports a small feed with one bad row."""
import re

import pytest
from playwright.sync_api import Page, expect

from credit_self.db import make_engine, rows, scalar
from tests.browser.conftest import check_page, open_menu, sign_in, staff_sign_in
from tests.conftest import persona

pytestmark = pytest.mark.browser


def sign_out(page: Page) -> None:
    open_menu(page)
    page.get_by_role("button", name="Sign out").click()


def _case_of(database_url: str, id_number: str) -> int:
    """The correction case the seed filed for this resident."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return scalar(conn, "SELECT id FROM corrections WHERE id_number = :id_number "
                                "ORDER BY id LIMIT 1", id_number=id_number)
    finally:
        engine.dispose()


def test_a_reviewers_look_shows_in_who_looked(page: Page, live_server):
    resident = persona("mixup")
    case_id = _case_of(live_server.database_url, resident["id_number"])
    staff_sign_in(page, live_server, "reviewer")
    expect(page.locator("h1")).to_have_text("Admin console")
    # The real reviewer UI: open the resident's case from the queue.
    page.goto("/admin/corrections")
    check_page(page)
    page.locator(f'a[href="/admin/corrections/{case_id}"]').first.click()
    expect(page).to_have_url(re.compile(f"/admin/corrections/{case_id}$"))
    check_page(page)
    sign_out(page)

    page.goto("/login")
    page.fill("#id_number", resident["id_number"])
    page.fill("#password", resident["password"])
    page.locator("main button[type=submit]").click()
    open_menu(page)
    page.get_by_role("link", name="Who looked").click()
    expect(page.locator("h1")).to_have_text("Who looked at your record")
    first = page.locator(".access-item").first
    expect(first).to_contain_text("reviewed a correction")
    expect(first).to_contain_text("Corrections reviewer")
    expect(page.locator("main")).not_to_contain_text("demo-reviewer")
    check_page(page)
    page.get_by_role("link", name="中文").click()
    expect(page.locator(".access-item").first).to_contain_text("审查了一项更正")
    check_page(page)
    page.get_by_role("link", name="English").click()
    open_menu(page)
    page.get_by_role("link", name="Your data").click()
    expect(page.locator("h1")).to_have_text("Download your data")
    check_page(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as JSON").click()
    assert download.value.suggested_filename.endswith(".json")


def _residents_without_accounts(database_url: str, count: int) -> list[dict]:
    """Population residents no other test signs in as, so the new entry touches nobody's journey."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return rows(conn, "SELECT id_number, name FROM residents r WHERE NOT EXISTS "
                              "(SELECT 1 FROM accounts a WHERE a.id_number = r.id_number) "
                              "ORDER BY id_number DESC LIMIT :count", count=count)
    finally:
        engine.dispose()


def test_superadmin_imports_a_feed_with_one_bad_row(page: Page, live_server, tmp_path):
    clean, other = _residents_without_accounts(live_server.database_url, 2)
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "id_number,name,facts,document_no,listed_on,expires_on,source_agency\n"
        f"{clean['id_number']},{clean['name']},未按期缴纳罚款,BROWSER-1,2025-03-01,,上海市黄浦区人民法院\n"
        f"{other['id_number']},王二麻子,未按期缴纳罚款,BROWSER-2,2025-03-01,,上海市黄浦区人民法院\n",
        encoding="utf-8",
    )
    staff_sign_in(page, live_server, "superadmin")
    expect(page.locator("h1")).to_have_text("Admin console")
    check_page(page)
    page.get_by_role("link", name="List imports").click()
    expect(page.locator("h1")).to_have_text("List imports")
    check_page(page)
    page.select_option("#list_code", "judgment_defaulter")
    page.set_input_files("#feed", str(feed))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("h1")).to_have_text("Check the list feed")
    rejected = page.locator(".import-row--rejected")
    expect(rejected).to_have_count(1)
    expect(rejected).to_contain_text("Row 2")
    expect(rejected).to_contain_text("The name does not match the register for this ID number")
    check_page(page)
    # Without the explicit choice nothing is imported.
    page.get_by_role("button", name="Import 1 valid row").click()
    expect(page.locator(".error-summary")).to_contain_text("tick the box")
    check_page(page)
    page.get_by_label(re.compile("Import only the valid rows")).check()
    page.get_by_role("button", name="Import 1 valid row").click()
    expect(page.locator(".notice--success")).to_contain_text("1 entries created")
    check_page(page)
    page.goto("/admin/audit")
    expect(page.locator(".audit-list")).to_contain_text("list_imported")
    check_page(page)
    page.get_by_role("link", name="Check the whole chain now").click()
    expect(page.locator("#chain-title")).to_have_text(re.compile("The log verifies"))
    check_page(page)


def test_the_record_prints_from_your_data_on_a_phone(page: Page, live_server):
    sign_in(page, "defaulter")
    page.get_by_role("link", name="Print your record").click()
    expect(page.locator("h1")).to_have_text("Your record: printable version")
    expect(page.locator(".record-entry")).to_have_count(4)
    check_page(page)
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".record-entry").first).to_be_visible()
