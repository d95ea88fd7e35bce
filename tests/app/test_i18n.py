"""English and Simplified Chinese: every string translated, switchable on every page."""
import re
from collections import defaultdict
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup

from credit_self import formatters
from credit_self.i18n_catalogs import catalogs, extract
from tests.conftest import persona, staff_login

# Catalogs whose sources contain at least one translatable string.
CATALOGS = [c for c in catalogs() if any(True for _ in extract(c))]


def _read(sources):
    assert sources.po_path.exists(), f"{sources.name} has no zh_CN catalog at {sources.po_path}"
    with open(sources.po_path, "rb") as handle:
        return read_po(handle)


def _strings(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


@pytest.mark.parametrize("sources", CATALOGS, ids=[c.name for c in CATALOGS])
def test_zh_cn_catalog_translates_every_string_in_use(sources):
    catalog = _read(sources)
    missing = []
    for message_id in extract(sources):
        plural = isinstance(message_id, tuple)
        key = message_id[0] if plural else message_id
        message = catalog.get(key)
        # An ngettext string needs a plural entry, or the count's form is never looked up.
        translated = (message is not None and not message.fuzzy and message.pluralizable == plural
                      and all(_strings(message)))
        if not translated:
            missing.append(key)
    assert not missing, f"{len(missing)} strings lack a zh_CN translation: {sorted(set(missing))[:10]}"


@pytest.mark.parametrize("sources", CATALOGS, ids=[c.name for c in CATALOGS])
def test_placeholders_survive_translation(sources):
    """A translation that drops or renames %(name)s would crash or mislead at runtime."""
    for message in _read(sources):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(re.findall(r"%\((\w+)\)[sd]", ids[0]))
        for translated in _strings(message):
            if translated:
                assert set(re.findall(r"%\((\w+)\)[sd]", translated)) == wanted, message.id


def test_a_string_in_several_catalogs_reads_the_same_in_each():
    """flask-babel merges the catalogs and the last one wins: a second translation of the
    same English would replace the first on every page that uses it."""
    translations = defaultdict(dict)
    for sources in CATALOGS:
        for message in _read(sources):
            if message.id:
                translations[message.id][sources.name] = _strings(message)
    differing = {msgid: by_catalog for msgid, by_catalog in translations.items()
                 if len(set(by_catalog.values())) > 1}
    assert not differing, differing


@pytest.mark.parametrize("header, expected", [("zh-CN,zh;q=0.9", "登录"), ("en-GB,en;q=0.8", "Sign in"), ("zh", "登录"), ("fr", "Sign in")])
def test_accept_language_picks_the_default(client, header, expected):
    text = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert f"<h1>{expected}</h1>" in text


@pytest.mark.parametrize("cookie, header, expected", [
    ("zh_CN", "en", "登录"),   # the reader's choice beats the browser's
    ("en", "zh-CN", "Sign in"),
    ("fr", "zh-CN", "登录"),   # not one of ours: the browser decides
])
def test_the_language_cookie_wins_over_the_browser(client, cookie, header, expected):
    client.set_cookie("lang", cookie)
    text = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert f"<h1>{expected}</h1>" in text


def _language_link(html: str) -> tuple[str, str]:
    """(href, text) of the header's language link."""
    link = BeautifulSoup(html, "html.parser").find("a", href=re.compile(r"^/language/"))
    assert link is not None, "no language link"
    return link["href"], link.get_text(strip=True)


def _switch_and_come_back(client, path: str, language: str, link_text: str) -> str:
    """Follow the language link on `path`: it leads back to `path` in `language`."""
    page = client.get(path)
    assert page.status_code in (200, 404), (path, page.status_code)
    href, text = _language_link(page.get_data(as_text=True))
    assert urlsplit(href).path == f"/language/{language}" and text == link_text, (path, href)
    assert parse_qs(urlsplit(href).query)["next"] == [path]
    switched = client.get(href)
    assert switched.status_code == 303 and switched.headers["Location"] == path
    return client.get(path).get_data(as_text=True)


RESIDENT_PAGES = ["/me", "/me/access", "/me/export", "/certificates", "/corrections",
                  "/inbox", "/pilots", "/account"]
STAFF_PAGES = ["/admin", "/admin/accounts", "/admin/accounts/new", "/admin/audit",
               "/admin/audit?actor=reviewer", "/admin/audit/verify", "/admin/imports",
               "/admin/pilots", "/account"]
SIGNED_OUT_PAGES = ["/", "/login", "/activate", "/recover", "/admin/login", "/no-such-page"]


@pytest.mark.parametrize("who, pages", [
    (None, SIGNED_OUT_PAGES), ("defaulter", RESIDENT_PAGES), ("superadmin", STAFF_PAGES),
])
def test_the_language_link_is_on_every_page_and_leads_back_to_it(client, auth, who, pages):
    if who == "superadmin":
        staff_login(client, "superadmin")
    elif who:
        auth.login(who)
    for path in pages:
        chinese = _switch_and_come_back(client, path, "zh_CN", "中文")
        assert '<html lang="zh-Hans-CN">' in chinese, path
        english = _switch_and_come_back(client, path, "en", "English")
        assert '<html lang="en">' in english, path


def test_the_chosen_language_sticks_across_pages_and_sign_in(client, auth):
    client.get("/language/zh_CN?next=/login")
    assert '<html lang="zh-Hans-CN">' in client.get("/activate").get_data(as_text=True)
    auth.login("defaulter")
    text = client.get("/me").get_data(as_text=True)
    assert "<h1>您的记录</h1>" in text and "/language/en?next=/me" in text
    # Kept by the browser for a year, not only for this visit.
    response = client.get("/language/zh_CN?next=/me")
    assert "Max-Age=31536000" in response.headers["Set-Cookie"]


def test_pages_compiled_for_one_language_never_reach_readers_of_the_other(client, auth):
    """Templates are compiled once per language with their fixed text translated: readers
    taking turns in one process each get their own language, fixed text and text with
    variables alike."""
    auth.login("defaulter")
    for language, heading, formatted in [("en", "<h1>Your record</h1>", "as of "),
                                         ("zh_CN", "<h1>您的记录</h1>", "截至"),
                                         ("en", "<h1>Your record</h1>", "as of ")]:
        client.set_cookie("lang", language)
        text = client.get("/me").get_data(as_text=True)
        assert heading in text and formatted in text
        other = "您的记录" if language == "en" else "Your record"
        assert other not in text


def test_an_unknown_language_changes_nothing(client):
    response = client.get("/language/fr?next=/login")
    assert response.status_code == 303 and "Set-Cookie" not in response.headers
    assert "<h1>Sign in</h1>" in client.get("/login").get_data(as_text=True)


def test_dates_follow_the_locale(client, auth, db):
    auth.login("defaulter")
    listed_on = db.scalar(
        "SELECT listed_on FROM entries WHERE id_number = ? ORDER BY listed_on DESC LIMIT 1",
        [persona("defaulter")["id_number"]],
    )
    year, month, day = (int(x) for x in listed_on.split("-"))
    english = client.get("/me").get_data(as_text=True)
    months = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]
    assert f"{day} {months[month - 1]} {year}" in english
    client.set_cookie("lang", "zh_CN")
    assert f"{year}年{month}月{day}日" in client.get("/me").get_data(as_text=True)


# 16:30:05 UTC on 1 March is 00:30:05 on 2 March in China, whatever form the time takes.
SAME_MOMENT = ["2026-03-01T16:30:05+00:00", "2026-03-01 16:30:05", "2026-03-01T11:30:05-05:00"]


@pytest.mark.parametrize("language, expected", [
    ("en", "2 March 2026, 00:30"), ("zh-CN", "2026年3月2日 00:30:05"),
])
def test_timestamps_read_in_china_time(app, language, expected):
    moments = SAME_MOMENT + [datetime.fromisoformat(SAME_MOMENT[0]),
                             datetime.fromisoformat(SAME_MOMENT[1])]  # aware, and naive UTC
    with app.test_request_context(headers={"Accept-Language": language}):
        for moment in moments:
            assert formatters.datetime_long(moment) == expected, moment
            assert formatters.time_of_day(moment) == "00:30:05", moment
