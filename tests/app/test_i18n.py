"""English and Simplified Chinese: every string translated, switchable on every page."""
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from credit_self.config import PROJECT_ROOT

CATALOG = PROJECT_ROOT / "credit_self" / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def strings_in_source() -> set[str]:
    """Every message id used in Python code and templates, as pybabel extracts them."""
    found: set[str] = set()
    for directory, method in (("credit_self", "python"), ("templates", "jinja2")):
        root = PROJECT_ROOT / directory
        pattern = "**.py" if method == "python" else "**.html"
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(root), method_map=[(pattern, method)], keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_zh_cn_catalog_translates_every_string_in_use():
    with open(CATALOG, "rb") as handle:
        catalog = read_po(handle)
    missing = []
    for msgid in sorted(strings_in_source()):
        message = catalog.get(msgid)
        if message is None or message.fuzzy or not (
            all(message.string) if isinstance(message.string, tuple) else message.string
        ):
            missing.append(msgid)
    assert not missing, f"{len(missing)} strings lack a zh_CN translation: {missing[:10]}"


def test_placeholders_survive_translation():
    """A translation that drops or renames %(name)s would crash or mislead at runtime."""
    import re

    with open(CATALOG, "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\((\w+)\)[sd]", ids[0]))
        for translated in strings:
            assert set(re.findall(r"%\((\w+)\)[sd]", translated)) == wanted, message.id


@pytest.mark.parametrize("header, expected", [("zh-CN,zh;q=0.9", "登录"), ("en-GB,en;q=0.8", "Sign in"), ("zh", "登录"), ("fr", "Sign in")])
def test_accept_language_picks_the_default(client, header, expected):
    text = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert f"<h1>{expected}</h1>" in text


def test_the_language_link_is_on_every_page_and_sticks(client, auth):
    page = client.get("/login").get_data(as_text=True)
    assert "/language/zh_CN?next=/login" in page
    client.get("/language/zh_CN?next=/login")
    assert '<html lang="zh-Hans-CN">' in client.get("/login").get_data(as_text=True)
    auth.login("defaulter")
    text = client.get("/me").get_data(as_text=True)
    assert "您的记录" in text and "/language/en?next=/me" in text


def test_dates_follow_the_locale(client, auth, db):
    from tests.conftest import persona

    auth.login("defaulter")
    listed_on = db.execute(
        "SELECT listed_on FROM entries WHERE id_number = ? ORDER BY listed_on DESC LIMIT 1",
        [persona("defaulter")["id_number"]],
    ).fetchone()[0]
    year, month, day = (int(x) for x in listed_on.split("-"))
    english = client.get("/me").get_data(as_text=True)
    months = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]
    assert f"{day} {months[month - 1]} {year}" in english
    client.set_cookie("lang", "zh_CN")
    assert f"{year}年{month}月{day}日" in client.get("/me").get_data(as_text=True)
