"""Every page a resident or a member of staff can open, read in Chinese: no English word
left, no 你, full-width punctuation, and the catalogs' plural forms in place."""
import json
import re
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup

from credit_self import clock
from credit_self.auth.accounts import activate
from credit_self.config import PROJECT_ROOT
from credit_self.i18n_catalogs import catalogs
from credit_self.seeding import ADMIN_ACCOUNTS, PERSONAS
from tests.conftest import persona, staff_login

# Latin words a Chinese reader expects to see as they are: abbreviations, the pilot's
# letter grades, G-trains, browsers' and tools' product names, file names, and the
# accessibility statement's standard (WCAG) and test tool (Lighthouse).
ALLOWED_WORDS = {"ID", "QR", "SMS", "CSV", "JSON", "PDF", "API", "URL", "HTTP", "HTTPS", "WCAG",
                 "ZIP", "A", "AA", "AAA", "B", "C", "D", "G", "OpenAPI",
                 "Chrome", "Firefox", "Safari", "Edge", "Lighthouse", "SQLite", "Datasette",
                 "README"}
# Text in these attributes is read aloud or shown as a tooltip or a placeholder.
READ_ATTRIBUTES = ("aria-label", "title", "alt", "placeholder")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# Codes and numbers are data, not words: document numbers, IDs, tokens, staff logins and
# audit actors (demo-reviewer, system:seed), list codes (judgment_defaulter), addresses.
DATA_TOKEN = re.compile(r"\S*\d\S*|\S+@\S+|https?://\S+|\S+\.(?:csv|json|zip|db|pdf)\b"
                        r"|[A-Za-z]+(?:[_:-][A-Za-z]*)+")
# A Chinese character, then a half-width colon: a full-width ： was meant.
HALF_WIDTH_COLON = re.compile(r"[\u4e00-\u9fff）][:;]|[:;](?=[\u4e00-\u9fff])")

RESIDENTS = [p["persona"] for p in PERSONAS]
STAFF_ROLES = [a["role"] for a in ADMIN_ACCOUNTS]


def _visible_text(html: str) -> list[str]:
    """The words a reader sees or hears: text nodes and the attributes read aloud."""
    soup = BeautifulSoup(html, "html.parser")
    # Not words: scripts, and <code> (the audit log's stored records, a CSV header).
    for hidden in soup(["script", "style", "template", "code"]):
        hidden.decompose()
    # The link to the English version is named in English, on purpose (hreflang="en").
    for link in soup.find_all(hreflang="en"):
        link.decompose()
    # A choice whose label is its stored value is a code (the audit log's action filter).
    for option in soup.find_all("option"):
        if option.get_text(strip=True) == option.get("value"):
            option.decompose()
    pieces = [s for s in soup.stripped_strings]
    for tag in soup.find_all(True):
        pieces += [tag[a] for a in READ_ATTRIBUTES if tag.get(a)]
        if tag.name in ("input", "button") and tag.get("type") in ("submit", "button") and tag.get("value"):
            pieces.append(tag["value"])
    return pieces


def _english_words(text: str) -> list[str]:
    if text.startswith("{"):
        try:
            json.loads(text)
            return []  # a stored JSON record
        except ValueError:
            pass
    return [w for w in LATIN_WORD.findall(DATA_TOKEN.sub(" ", text)) if w not in ALLOWED_WORDS]


def _rule_paths(app, fill: dict[str, list[str]]) -> list[str]:
    """Every GET route of the app, its arguments filled with real values (each value a
    candidate), leaving out routes whose arguments have no candidates."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "set_language"):
            continue
        options = [dict()]
        for argument in rule.arguments:
            options = [dict(o, **{argument: v}) for o in options for v in fill.get((rule.endpoint, argument), fill.get(argument, []))]
        with app.test_request_context():
            from flask import url_for
            paths += [url_for(rule.endpoint, **o) for o in options]
    return sorted(set(paths))


def _fill(db, id_number: str | None) -> dict:
    """Real argument values from the seeded data: a resident's own rows, or all of them
    for staff (a few of each)."""
    own = "WHERE id_number = ?" if id_number else ""
    params = [id_number] if id_number else []
    column = lambda sql: [str(r) for (r,) in db.execute(sql, params).fetchall()]
    return {
        "entry_id": column(f"SELECT id FROM entries {own} ORDER BY id LIMIT 40"),
        "correction_id": column(f"SELECT id FROM corrections {own} ORDER BY id LIMIT 20"),
        "certificate_id": column(f"SELECT id FROM certificates {own} ORDER BY id LIMIT 10"),
        "account_id": [] if id_number else column("SELECT id FROM accounts WHERE id_number IS NULL ORDER BY id"),
        "batch_id": [] if id_number else column("SELECT id FROM import_batches ORDER BY id LIMIT 5"),
        "code": [] if id_number else column("SELECT code FROM pilots ORDER BY code"),
        "action": ["pause", "resume", "close"],
    }


def _read_every_page(client, app, db, id_number, start_paths, pages=None):
    """{path: html} of every page reachable as this user, in Chinese."""
    client.set_cookie("lang", "zh_CN")
    pages = dict(pages or {})
    queue = list(start_paths) + _rule_paths(app, _fill(db, id_number))
    while queue:
        path = queue.pop(0)
        if path in pages:
            continue
        response = client.get(path)
        if response.mimetype != "text/html" or response.status_code in (301, 302, 303, 403, 404, 405):
            response.close()
            pages[path] = None
            continue
        html = response.get_data(as_text=True)
        pages[path] = html
        # Follow verification links a page shows (the certificate's QR target).
        queue += [urlsplit(a["href"]).path for a in BeautifulSoup(html, "html.parser").find_all("a", href=re.compile(r"/v/."))]
    return {p: h for p, h in pages.items() if h is not None}


def _findings(pages: dict[str, str]) -> list[str]:
    found = []
    for path, html in pages.items():
        for piece in _visible_text(html):
            if _english_words(piece):
                found.append(f"{path}: {piece[:120]!r}")
            if "你" in piece:
                found.append(f"{path}: 你 in {piece[:120]!r}")
            if HALF_WIDTH_COLON.search(piece):
                found.append(f"{path}: half-width punctuation in {piece[:120]!r}")
    return sorted(set(found))


@pytest.mark.parametrize("who", RESIDENTS)
def test_every_resident_page_reads_in_chinese(client, app, auth, db, who):
    if who == "new_resident":  # not activated in the seed
        activate(db, persona(who)["id_number"], persona(who)["password"], clock.iso_now())
    auth.login(who)
    pages = _read_every_page(client, app, db, persona(who)["id_number"], ["/me", "/", "/account"])
    assert len(pages) >= 8, sorted(pages)
    findings = _findings(pages)
    assert not findings, f"{len(findings)} places:\n" + "\n".join(findings)


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_staff_page_reads_in_chinese(client, app, db, role):
    staff_login(client, role)
    client.set_cookie("lang", "zh_CN")
    pages = {}
    if role in ("pilot_admin", "superadmin"):
        # A status history to read, and a member's ledger as the administrator sees it.
        for action in ("pause", "resume"):
            client.post(f"/admin/pilots/rongcheng/{action}", data={"reason": "季度检查"})
        lookup = client.post("/admin/pilots/rongcheng/events/lookup",
                             data={"id_number": persona("pilot_member")["id_number"]})
        assert lookup.status_code == 200
        pages["lookup"] = lookup.get_data(as_text=True)
    pages = _read_every_page(client, app, db, None, ["/admin", "/account"], pages)
    assert len(pages) >= 3, sorted(pages)
    findings = _findings(pages)
    assert not findings, f"{len(findings)} places:\n" + "\n".join(findings)


def test_signed_out_pages_read_in_chinese(client, app, db):
    pages = _read_every_page(client, app, db, None, ["/", "/login", "/activate", "/admin/login", "/v/nonsense"])
    findings = _findings(pages)
    assert not findings, "\n".join(findings)


# ------------------------------------------------------------------ the catalogs

def _catalog_messages():
    """(catalog name, message) for every translated message of every zh_CN catalog."""
    for sources in catalogs():
        if sources.po_path.exists():
            with open(sources.po_path, "rb") as handle:
                for message in read_po(handle):
                    if message.id:
                        yield sources.name, message


def _translations(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def test_chinese_addresses_the_reader_as_nin_never_ni():
    informal = [(name, message.id) for name, message in _catalog_messages()
                if any("你" in text for text in _translations(message))]
    assert not informal, informal


def test_chinese_strings_use_full_width_punctuation():
    half_width = [(name, text) for name, message in _catalog_messages()
                  for text in _translations(message) if HALF_WIDTH_COLON.search(text)]
    assert not half_width, half_width


def test_every_plural_has_its_chinese_form():
    """Chinese has one plural form: the catalogs say so, and each ngettext message's one
    form keeps the count and reads in Chinese for any number."""
    for sources in catalogs():
        if not sources.po_path.exists():
            continue
        with open(sources.po_path, "rb") as handle:
            catalog = read_po(handle)
        plurals = [m for m in catalog if m.id and m.pluralizable]
        if plurals:
            assert catalog.num_plurals == 1, sources.name
        for message in plurals:
            (form,) = _translations(message)[:1]
            assert form and re.search(r"%\(\w+\)d", form), message.id
            names = re.findall(r"%\((\w+)\)", form)
            assert not _english_words(form % {name: 9 for name in names}), message.id


def test_relative_dates_read_in_chinese(app):
    from credit_self.records.labels import expiry_text
    from datetime import timedelta
    today = clock.today()
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        left = expiry_text({"expires_on": (today + timedelta(days=9)).isoformat(), "state": "active"})
        ended = expiry_text({"expires_on": (today - timedelta(days=420)).isoformat(), "state": "expired"})
    assert left.endswith("（还剩9天）") and "left" not in left, left
    assert "420" in ended and not _english_words(ended), ended


def _glossary() -> list[tuple[list[str], list[str], list[str]]]:
    """(msgids, Chinese terms, words to avoid) of each row of docs/glossary.md."""
    rows = []
    for line in (PROJECT_ROOT / "docs" / "glossary.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("Concept", "---"):
            continue
        msgids = re.findall(r"`([^`]+)`", cells[1])
        terms = [t.strip() for t in cells[2].split(" / ")]
        rows.append((msgids, terms, [w.strip() for w in cells[3].split(",") if w.strip()]))
    return rows


def test_the_catalogs_follow_the_glossary():
    rows = _glossary()
    assert len(rows) >= 20
    translations = {}
    for name, message in _catalog_messages():
        translations.setdefault(message.id, set()).update(_translations(message))
    wrong = []
    for msgids, terms, avoid in rows:
        wanted = terms if len(terms) == len(msgids) else terms * len(msgids)
        for msgid, term in zip(msgids, wanted):
            if translations.get(msgid, {term}) != {term}:
                wrong.append((msgid, term, translations[msgid]))
        for word in avoid:
            wrong += [(msgid, f"avoid {word}", text) for msgid, texts in translations.items()
                      for text in texts if word in text]
    assert not wrong, wrong
