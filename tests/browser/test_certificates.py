"""Certificates at 360 px: issue, verify from a second browser with no session, revoke,
see the verdict change; the on-screen QR refreshes and decodes to its URL."""
import io
import time

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import text

from credit_self.db import make_engine
from credit_self.records import entries

from tests.browser.conftest import PHONE, check_page, open_menu, scripts_loaded, sign_in
from tests.conftest import persona

pytestmark = pytest.mark.browser


@pytest.fixture
def verifier(browser, live_server):
    """A second browser context: a landlord's phone, no account, no cookies."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_issue_verify_revoke_at_360px(page: Page, verifier: Page, live_server):
    sign_in(page, "clean")
    open_menu(page)
    page.get_by_role("link", name="Certificates").click()
    expect(page.locator("h1")).to_have_text("Certificates")
    check_page(page)
    page.get_by_label("Renting a home").check()
    page.fill("#audience", "Mr Wang, landlord")
    page.get_by_role("button", name="Get certificate").click()
    expect(page.locator("h1")).to_have_text("No restrictions certificate")
    check_page(page)

    url = page.locator("[data-qr-url]").inner_text().strip()
    assert url.startswith(live_server + "/v/")
    shot = page.locator("#certificate-qr svg").screenshot()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert [r.text for r in decoded] == [url], "the QR on screen holds its verify URL"

    verifier.goto(url)
    expect(verifier.locator("h1")).to_contain_text("Valid: every statement is true as of")
    expect(verifier.locator("#verdict")).to_contain_text("陈*")
    check_page(verifier)

    # The poll swaps only the QR, with a fresh token (tokens carry whole seconds).
    assert page.locator("#certificate-qr").get_attribute("hx-trigger") == "every 30s"
    time.sleep(1.1)
    scripts_loaded(page)
    page.evaluate(
        "htmx.ajax('GET', document.querySelector('#certificate-qr').getAttribute('hx-get'),"
        " {target: '#certificate-qr', swap: 'outerHTML'})"
    )
    expect(page.locator("[data-qr-url]")).not_to_have_text(url)
    expect(page.locator("h1")).to_have_text("No restrictions certificate")

    page.get_by_role("link", name="All certificates").click()
    row = page.locator("article.certificate-row").first
    row.get_by_role("link", name="Revoke").click()
    # Revoking asks first, saying what stops working.
    expect(page.locator("h1")).to_have_text("Revoke this certificate?")
    check_page(page)
    page.get_by_role("button", name="Yes, revoke it").click()
    assert page.url.endswith("/certificates")
    row = page.locator("article.certificate-row").first
    expect(row.locator(".tag")).to_have_text("Revoked")
    check_page(page)

    verifier.reload()
    expect(verifier.locator("h1")).to_have_text("Not valid")
    check_page(verifier)
    verifier.goto(f"{live_server}/language/zh_CN?next={url.removeprefix(live_server)}")
    expect(verifier.locator("h1")).to_have_text("无效")
    check_page(verifier)


def test_certificate_pages_in_chinese_and_print_version(page: Page, live_server):
    sign_in(page, "expired_only")
    page.goto("/certificates")
    page.get_by_label("Something else").check()
    page.get_by_role("button", name="Get certificate").click()
    expect(page.locator("h1")).to_have_text("No restrictions certificate")
    page.get_by_role("link", name="Printable version").click()
    expect(page.locator("h1")).to_have_text("No restrictions certificate: printable version")
    expect(page.locator("body")).to_contain_text("This printed code works until")
    check_page(page)
    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("无限制证明：打印版")
    check_page(page)
    page.goto("/certificates")
    expect(page.locator("h1")).to_have_text("信用证明")
    page.get_by_role("button", name="生成证明").click()  # nothing chosen: errors
    expect(page.locator(".error-summary")).to_contain_text("请选择证明的用途")
    check_page(page)


def test_defaulter_is_told_which_statements_are_not_true_and_why(page: Page, live_server):
    sign_in(page, "defaulter")
    page.goto("/certificates")
    preset = page.get_by_label("No active blacklist entry at all")
    expect(preset).to_be_disabled()
    expect(page.locator(f"#{preset.get_attribute('aria-describedby')}")).to_contain_text(
        "Not true today, because of:")
    check_page(page)


def test_a_listing_after_issue_shows_on_the_holders_pages(page: Page, live_server):
    """A department lists the holder after issue: the certificate page says what a
    verifier would be told, names the entry and hides the code; lifted, it works again."""
    holder = persona("expired_only")
    sign_in(page, "expired_only")
    page.goto("/certificates")
    page.get_by_label("Renting a home").check()
    page.get_by_role("button", name="Get certificate").click()
    expect(page.locator("#certificate-qr svg")).to_be_visible()
    certificate_page = page.url

    engine = make_engine(live_server.database_url)
    try:
        with engine.begin() as conn:
            entries.add_entries(conn, [{
                "list_code": "restricted_consumption", "id_number": holder["id_number"],
                "tier": "general", "document_no": "BROWSER-CERT-1", "listed_on": "2026-01-05",
                "expires_on": None, "status": "listed"}], "test", "2026-01-05T00:00:00", "test")
        page.goto(certificate_page)
        expect(page.locator(".tags")).to_contain_text("Not valid: restrictions apply")
        expect(page.locator("main")).to_contain_text(
            "A person checking this certificate now is told it is not valid, because of:")
        expect(page.locator("#certificate-qr svg")).to_have_count(0)
        check_page(page)
        page.goto("/certificates")
        expect(page.locator("article.certificate-row").first.locator(".tags")).to_contain_text(
            "Not valid: restrictions apply")
    finally:
        with engine.begin() as conn:  # lifted again, for the tests that follow
            conn.execute(text("UPDATE entries SET status = 'withdrawn' WHERE document_no = "
                              "'BROWSER-CERT-1'"))
        engine.dispose()
    page.goto(certificate_page)
    expect(page.locator("#certificate-qr svg")).to_be_visible()
