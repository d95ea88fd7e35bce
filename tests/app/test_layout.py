"""The phone-first layout: the menu behind one button, the larger-text mode remembered
like the language, and the accessibility statement."""
import hashlib
import re
from datetime import date

import pytest
from bs4 import BeautifulSoup

from credit_self import clock, signals
from credit_self.auth.accounts import PASSWORD_RESET_TEXT, PASSWORD_RESET_TITLE
from credit_self.config import PROJECT_ROOT
from credit_self.start import ACCESSIBILITY_STATEMENT_PREPARED
from tests.app.test_security import form_token
from tests.conftest import persona


def _soup(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _html_classes(response) -> list[str]:
    return _soup(response).html.get("class", [])


def test_larger_text_is_remembered_and_applies_to_every_page(client):
    assert _html_classes(client.get("/login")) == []
    response = client.post("/text-size", data={"size": "large", "next": "/activate"})
    assert response.status_code == 303 and response.headers["Location"] == "/activate"
    cookie = response.headers["Set-Cookie"]
    assert "text_size=large" in cookie and "Max-Age=31536000" in cookie and "HttpOnly" in cookie
    for path in ("/activate", "/login", "/accessibility"):
        page = client.get(path)
        assert _html_classes(page) == ["text-large"], path
        # The header now offers the way back.
        assert _soup(page).select_one("header input[name=size]")["value"] == "standard"

    back = client.post("/text-size", data={"size": "standard", "next": "/login"})
    assert back.status_code == 303 and "text_size=;" in back.headers["Set-Cookie"]
    page = client.get("/login")
    assert _html_classes(page) == []
    assert '<html lang="en">' in page.get_data(as_text=True)
    assert _soup(page).select_one("header input[name=size]")["value"] == "large"


def test_larger_text_stays_through_sign_in_and_in_chinese(client, auth):
    client.post("/text-size", data={"size": "large", "next": "/login"})
    client.get("/language/zh_CN?next=/login")
    auth.login("defaulter")
    page = client.get("/me")
    assert _html_classes(page) == ["text-large"]
    assert _soup(page).select_one("header form[action='/text-size'] button").get_text(strip=True) == "标准字号"


def test_text_size_needs_a_post_with_the_form_token(csrf_app):
    csrf_client = csrf_app.test_client()
    assert csrf_client.get("/text-size?size=large").status_code == 405
    refused = csrf_client.post("/text-size", data={"size": "large", "next": "/login"})
    assert refused.status_code == 400 and "text_size" not in refused.headers.get("Set-Cookie", "")
    token = form_token(csrf_client.get("/login").get_data(as_text=True))
    accepted = csrf_client.post("/text-size", data={"csrf_token": token, "size": "large", "next": "/login"})
    assert accepted.status_code == 303 and "text_size=large" in accepted.headers["Set-Cookie"]


@pytest.mark.parametrize("data", [{"size": "huge", "next": "/login"}, {"next": "/login"}])
def test_an_unknown_text_size_is_refused_and_changes_nothing(client, data):
    response = client.post("/text-size", data=data)
    assert response.status_code == 400 and "text_size" not in response.headers.get("Set-Cookie", "")
    text = response.get_data(as_text=True)
    assert "Something was wrong with that request" in text and "Choose standard or larger text." in text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/me", ""])
def test_text_size_returns_only_to_pages_of_this_site(client, target):
    response = client.post("/text-size", data={"size": "large", "next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_resident_navigation_and_account_links_fold_behind_one_menu_button(client, auth):
    anonymous = _soup(client.get("/login"))
    assert anonymous.select("details.menu") == []
    auth.login("defaulter")
    page = _soup(client.get("/me"))
    [menu] = page.select("header details.menu")
    assert menu.summary.get_text(" ", strip=True).startswith("Menu")
    links = [a.get_text(" ", strip=True) for a in menu.select("a")]
    assert {"Your record", "Certificates", "Your account"} <= {re.sub(r" \d.*", "", link) for link in links}
    assert menu.select_one("a[aria-current=page]").get_text(strip=True) == "Your record"
    assert menu.select_one("form[action='/logout'] button").get_text(strip=True) == "Sign out"
    # Nothing else navigates from the header: the name, the language and the text size.
    outside = [a["href"] for a in page.select("header a") if not a.find_parent("details")]
    assert len(outside) == 2


def test_unread_messages_show_on_the_closed_menu_button(client, auth, db):
    """The inbox's count is not hidden inside the folded menu: a new message is noticed."""
    auth.login("defaulter")
    id_number = persona("defaulter")["id_number"]
    client.get("/me")  # any message the page makes lazily exists now
    db.execute("UPDATE inbox_messages SET read_at = '2026-01-01T00:00:00+08:00' WHERE id_number = ?", [id_number])
    assert _soup(client.get("/me")).select_one("details.menu summary .badge") is None
    signals.resident_notice.send("test", conn=db, id_number=id_number, kind="password_reset",
                                 at=clock.now().isoformat(), title=PASSWORD_RESET_TITLE,
                                 text=PASSWORD_RESET_TEXT, values={"phone": "138****1234"})
    summary = _soup(client.get("/me")).select_one("details.menu summary")
    assert summary.select_one(".badge").get_text(" ", strip=True) == "1 unread"


def test_staff_get_the_same_menu(client):
    from tests.conftest import staff_login

    staff_login(client, "reviewer")
    menu = _soup(client.get("/admin")).select_one("header details.menu")
    assert [a.get_text(strip=True) for a in menu.select("a")] == ["Admin console", "Your account"]
    assert menu.select_one("form[action='/logout']") is not None


@pytest.mark.parametrize("language, heading, standard", [
    ("en", "Accessibility statement", "WCAG) version 2.2, level AA"),
    ("zh_CN", "无障碍声明", "WCAG）2.2版 AA 级"),
])
def test_the_accessibility_statement_is_linked_from_every_page_in_both_languages(client, auth, language, heading, standard):
    client.set_cookie("lang", language)
    for path in ("/", "/login"):
        footer = _soup(client.get(path)).select_one("footer")
        assert footer.select_one("a[href='/accessibility']").get_text(strip=True) == heading
    auth.login("clean")
    assert _soup(client.get("/me")).select_one("footer a[href='/accessibility']") is not None
    statement = client.get("/accessibility")
    assert statement.status_code == 200
    text = statement.get_data(as_text=True)
    assert f"<h1>{heading}</h1>" in text and standard in text
    for section in (("Reporting problems", "How we tested this service", "Compliance status")
                    if language == "en" else ("报告问题", "我们如何测试本服务", "符合情况")):
        assert f"<h2>{section}</h2>" in text


# The statement as last reviewed (GOV.UK keeps a statement's date with its text).
STATEMENT_SHA256 = "cbe3ab9133e09aa7c6576e27a0bba23e49c046437287509561b97dd528a8418f"


def test_the_accessibility_statement_changes_only_with_its_date():
    text = (PROJECT_ROOT / "templates" / "accessibility.html").read_bytes()
    assert (hashlib.sha256(text).hexdigest(), ACCESSIBILITY_STATEMENT_PREPARED) == (STATEMENT_SHA256, date(2026, 12, 3)), (
        "The accessibility statement changed: review it, set ACCESSIBILITY_STATEMENT_PREPARED in "
        "credit_self/start.py to the day of the review, then update STATEMENT_SHA256 and the date here")
