"""Phone first, measured at 360×800: what matters is on the first screen, the menu folds
behind one button (with or without JavaScript, by keyboard too), and larger text fits."""
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, assert_no_horizontal_scroll, check_page, open_menu, sign_in

pytestmark = pytest.mark.browser
CHINESE = {"en": None, "zh_CN": "中文"}


def assert_on_first_screen(page: Page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown on {page.url}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (
        f"{selector} on {page.url} spans {box['y']:.0f}–{box['y'] + box['height']:.0f}px;"
        f" the first screen ends at {PHONE['height']}px")


def in_language(page: Page, language: str) -> None:
    if CHINESE[language]:
        page.get_by_role("link", name=CHINESE[language]).click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans-CN")


def issue_certificate(page: Page) -> None:
    """An online certificate for renting a home: its page shows the live QR."""
    page.goto("/certificates")
    page.get_by_label("Renting a home").check()
    page.fill("#audience", "Mr Wang, landlord")
    page.get_by_role("button", name="Get certificate").click()
    expect(page.locator("h1")).to_have_text("No restrictions certificate")


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_record_banner_is_on_the_first_screen(page: Page, language):
    sign_in(page, "defaulter")
    in_language(page, language)
    expect(page.locator(".banner--restricted")).to_contain_text("⚠")
    assert_on_first_screen(page, ".banner--restricted")
    check_page(page)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_certificate_qr_is_on_the_first_screen(page: Page, language):
    sign_in(page, "clean")
    issue_certificate(page)
    in_language(page, language)
    assert_on_first_screen(page, "#certificate-qr svg")
    check_page(page)


def test_the_menu_folds_the_navigation_and_opens_by_keyboard(page: Page):
    sign_in(page, "clean")
    menu = page.locator("header details.menu")
    certificates = page.get_by_role("link", name="Certificates")
    expect(certificates).to_be_hidden()
    # The header is one row: the menu button sits beside the service's name.
    name_box = page.locator(".site-header__name").bounding_box()
    button_box = menu.locator("summary").bounding_box()
    middle = button_box["y"] + button_box["height"] / 2
    assert name_box["y"] <= middle <= name_box["y"] + name_box["height"]
    assert page.locator("header").bounding_box()["height"] <= 64
    for _ in range(8):  # skip link, name, language, text size, then the menu
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName === 'SUMMARY'"):
            break
    else:
        raise AssertionError("Tab never reaches the menu button")
    page.keyboard.press("Enter")
    expect(certificates).to_be_visible()
    check_page(page)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Your record", exact=True)).to_be_focused()
    certificates.focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Certificates")
    expect(page.get_by_role("link", name="Certificates")).to_be_hidden()  # closed again


def test_the_menu_works_without_javascript(page_without_js: Page):
    page = page_without_js
    sign_in(page, "defaulter")
    open_menu(page)
    page.get_by_role("link", name="Certificates").click()
    expect(page.locator("h1")).to_have_text("Certificates")
    open_menu(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("h1")).to_have_text("Sign in")


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_larger_text_fits_a_phone_and_is_remembered(page: Page, language):
    sign_in(page, "defaulter")
    in_language(page, language)
    standard = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    page.get_by_role("button", name="Larger text" if language == "en" else "大字模式").click()
    expect(page.locator("html")).to_have_class("text-large")
    larger = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert larger >= standard * 1.2
    check_page(page)
    assert_no_horizontal_scroll(page)
    for path in ("/certificates", "/accessibility"):
        page.goto(path)
        expect(page.locator("html")).to_have_class("text-large")
        check_page(page)
    page.goto("/me")
    page.get_by_role("button", name="Standard text" if language == "en" else "标准字号").click()
    expect(page.locator("html")).not_to_have_class("text-large")
