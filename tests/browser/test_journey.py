"""The resident's core journey at 360 px, with and without JavaScript:
activate (with the code from the text message) → sign out → sign in → my record → expand an entry → Chinese → sign out."""
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import check_page, open_menu
from tests.conftest import DatabaseForTests, persona
from tests.phone import code_sent_to

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def unactivated_resident_with_entries(database_url: str, exclude: set[str]) -> dict:
    db = DatabaseForTests(database_url)
    try:
        for row in db.query(
            """SELECT r.id_number, r.name FROM residents r
               WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id_number = r.id_number)
                 AND EXISTS (SELECT 1 FROM entries e WHERE e.id_number = r.id_number)
               ORDER BY r.id_number"""
        ):
            if row["id_number"] not in exclude:
                return row
    finally:
        db.close()
    raise AssertionError("the seed has no unactivated resident with entries")


def code_sent_to_resident(database_url: str, id_number: str) -> str:
    """The code in the newest text message to the resident's registered phone (the
    outbox, read through the sms module)."""
    db = DatabaseForTests(database_url)
    try:
        phone = db.scalar("SELECT phone FROM residents WHERE id_number = ?", [id_number])
        return code_sent_to(db, phone)
    finally:
        db.close()


def activate(page: Page, id_number: str, name: str, database_url: str, check=check_page) -> None:
    page.goto("/")
    check(page)
    page.get_by_role("link", name="Activate your account").click()
    expect(page.locator("h1")).to_have_text("Activate your account")
    check(page)
    # A wrong name first: the error summary lists it and the page stays usable.
    page.fill("#id_number", id_number)
    page.fill("#name", "王某某")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".error-summary")).to_contain_text("These details do not match our records")
    assert page.title().startswith("Error:")
    check(page)
    page.fill("#name", name)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("h1")).to_have_text("Check your phone")
    check(page)
    page.get_by_label("Code from the text message").fill(code_sent_to_resident(database_url, id_number))
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("h1")).to_have_text("Choose a password")
    check(page)
    page.fill("#password", PASSWORD)
    page.fill("#password_confirm", PASSWORD)
    page.get_by_role("button", name="Activate account").click()
    expect(page.locator("h1")).to_have_text("Your record")


def sign_out(page: Page, label: str = "Sign out") -> None:
    open_menu(page)
    page.get_by_role("button", name=label).click()
    expect(page.locator("h1")).to_have_text("登录" if label == "退出" else "Sign in")


def sign_in(page: Page, id_number: str, check=check_page) -> None:
    page.goto("/login")
    page.fill("#id_number", id_number)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Your record")
    check(page)


def no_script_checks(page: Page) -> None:
    """With JavaScript off Playwright cannot evaluate in the page, so layout and axe are
    checked on the same pages in the JavaScript journey; here the page must render."""
    expect(page.locator("h1")).to_be_visible()


def test_journey_with_javascript(page: Page, live_server):
    resident = persona("new_resident")
    activate(page, resident["id_number"], resident["name"], live_server.database_url)
    check_page(page)
    sign_out(page)
    sign_in(page, resident["id_number"])

    card = page.locator("article.entry").first
    card_id = card.get_attribute("id")
    card.get_by_role("link", name="Show details").click()
    opened = page.locator(f"#{card_id}")
    expect(opened).to_contain_text("Legal basis")
    assert page.url.endswith("/me"), "details expanded in place, no navigation"
    expect(page.locator(f"#{card_id}-title")).to_be_focused()
    check_page(page)
    opened.get_by_role("link", name="Hide details").click()
    expect(page.locator(f"#{card_id}")).to_contain_text("Show details")

    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("您的记录")
    check_page(page)
    sign_out(page, "退出")
    check_page(page)


def test_journey_without_javascript(page_without_js: Page, live_server):
    page = page_without_js
    resident = unactivated_resident_with_entries(
        live_server.database_url, exclude={persona("new_resident")["id_number"]}
    )
    activate(page, resident["id_number"], resident["name"], live_server.database_url,
             check=no_script_checks)
    sign_out(page)
    sign_in(page, resident["id_number"], check=no_script_checks)

    page.locator("article.entry").first.get_by_role("link", name="Show details").click()
    assert "/me/entries/" in page.url, "without JavaScript the link opens the entry page"
    expect(page.locator("body")).to_contain_text("Legal basis")
    page.get_by_role("link", name="Back to your record").click()
    expect(page.locator("h1")).to_have_text("Your record")

    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("您的记录")
    sign_out(page, "退出")


@pytest.mark.parametrize("who", ["defaulter", "focus_three", "mixup", "expired_only", "train_expiring", "clean"])
def test_each_persona_record_fits_a_phone_and_passes_axe(page: Page, live_server, who):
    p = persona(who)
    page.goto("/login")
    page.fill("#id_number", p["id_number"])
    page.fill("#password", p["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Your record")
    check_page(page)
    for link in page.locator("article.entry a[hx-get]").all()[:3]:
        link.click()
    page.wait_for_load_state("networkidle")
    check_page(page)


def test_error_pages_and_chinese_pages_pass_axe(page: Page, live_server):
    page.goto("/no-such-page")
    expect(page.locator("h1")).to_have_text("Page not found")
    check_page(page)
    page.goto("/language/zh_CN?next=/activate")
    check_page(page)
    page.get_by_role("button").last.click()  # submit the empty form
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator(".error-summary")).to_be_focused()
    check_page(page)
