"""Every page a resident or a member of staff can open, read in Chinese: no English word
left, no 你, full-width punctuation, and the catalogs' plural forms in place."""
import json
import re
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from credit_self import clock
from credit_self.auth.accounts import activate
from credit_self.seeding import ADMIN_ACCOUNTS, PERSONAS
from tests.conftest import persona, staff_login

# Latin words a Chinese reader expects to see as they are: abbreviations, the pilot's
# letter grades, G-trains, and browsers' product names.
ALLOWED_WORDS = {"ID", "QR", "SMS", "CSV", "JSON", "PDF", "API", "URL", "HTTP", "HTTPS",
                 "ZIP", "A", "AA", "AAA", "B", "C", "D", "G", "OpenAPI",
                 "Chrome", "Firefox", "Safari", "Edge"}
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
