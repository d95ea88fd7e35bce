"""English and Simplified Chinese: every string translated, switchable on every page."""
import re

import pytest
from babel.messages.pofile import read_po

from credit_self.i18n_catalogs import catalogs, extract

# Catalogs whose sources contain at least one translatable string.
CATALOGS = [c for c in catalogs() if any(True for _ in extract(c))]


def _read(sources):
    assert sources.po_path.exists(), f"{sources.name} has no zh_CN catalog at {sources.po_path}"
    with open(sources.po_path, "rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("sources", CATALOGS, ids=[c.name for c in CATALOGS])
def test_zh_cn_catalog_translates_every_string_in_use(sources):
    catalog = _read(sources)
    missing = []
    for message_id in extract(sources):
        key = message_id[0] if isinstance(message_id, tuple) else message_id
        message = catalog.get(key)
        translated = message is not None and not message.fuzzy and (
            all(message.string) if isinstance(message.string, tuple) else message.string
        )
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
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\((\w+)\)[sd]", ids[0]))
        for translated in strings:
            if translated:
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
