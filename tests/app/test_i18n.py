"""English and Simplified Chinese: every string translated, switchable on every page."""
import re

import pytest
from babel.messages.pofile import read_po

from credit_self.i18n_catalogs import catalogs, extract
from credit_self.config import PROJECT_ROOT

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


# ---------------------------------------------------------------- compiled translations
# Literal _("...") calls are translated when a language's templates compile (see
# credit_self/i18n.py). These tests hold that to the runtime gettext it replaces.

TEMPLATE_LITERALS = sorted({
    literal
    for path in (PROJECT_ROOT / "templates").rglob("*.html")
    for literal in re.findall(r"""\b_\(("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\)""", path.read_text())
})


def _render_both(app, language: str, source: str, **context) -> tuple[str, str]:
    """Render `source` with runtime gettext (the app's base environment) and with the
    language's compiled environment, inside one request in that language."""
    with app.test_request_context(headers={"Accept-Language": language}):
        runtime = app.base_jinja_env.from_string(source).render(**context)
        compiled = app.jinja_env.from_string(source).render(**context)
    return runtime, compiled


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_every_template_literal_renders_as_runtime_gettext_would(app, language):
    assert len(TEMPLATE_LITERALS) > 300  # the pattern still finds the templates' strings
    # Each literal exactly as written in the template, quotes included.
    source = "\n".join("{{ _(%s) }}" % literal for literal in TEMPLATE_LITERALS)
    runtime, compiled = _render_both(app, language, source)
    assert compiled == runtime
    if language == "zh-CN":
        assert "退出" in compiled  # "Sign out"


def test_literals_become_constant_text_not_calls(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        code = app.jinja_env.compile('{{ _("Sign out") }}', raw=True)
        expected = app.jinja_env.translations.ugettext("Sign out")
    assert expected != "Sign out"
    assert "yield '%s'" % expected in code  # written out as constant text
    assert "resolve('_')" not in code and "context.call" not in code


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("source", [
    '{{ _("Until %(date)s", date=d) }}',
    '{{ _("as of %(date)s", date=d|upper) }}',
    '{{ _("From %(first)s to %(last)s", first=(d ~ ")"), last=[d, d]|join(",")) }}',
    '<a title="{{ _("Ends %(day)s", day=d) }}">{{ _("100%% sure: %(x)s", x={"k": d}["k"]) }}</a>',
    '{{ ngettext("%(num)d day", "%(num)d days", 3) }}',
])
def test_calls_with_values_translate_as_runtime_gettext_would(app, language, source):
    runtime, compiled = _render_both(app, language, source, d="x&<y>")
    assert compiled == runtime
    assert "x&amp;&lt;y&gt;" in compiled or "X&amp;&lt;Y&gt;" in compiled or "days" in compiled or "天" in compiled


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("source", [
    '{% autoescape false %}{{ _("as of %(date)s", date=d) }}{% endautoescape %}',
    '{% set _ = f %}{{ _("Sign out") }}',
    '{% macro m(_) %}{{ _("Sign out") }}{% endmacro %}{{ m(f) }}',
    '{% macro w() %}[{{ caller() }}]{% endmacro %}{% call w() %}{{ _("Sign out") }}{% endcall %}',
])
def test_templates_that_rebind_or_unescape_keep_runtime_gettext(app, language, source):
    runtime, compiled = _render_both(app, language, source, d="<b>", f=lambda s: "F:" + s)
    assert compiled == runtime


def test_a_repeated_value_name_is_still_an_error(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        with pytest.raises(SyntaxError, match="repeated"):
            app.jinja_env.from_string('{{ _("as of %(date)s", date=d, date=d) }}')


def test_every_template_gets_compiled_translations(app):
    """A template the extension declines (see i18n._safe_to_compile) would quietly fall
    back to runtime calls on every page."""
    from credit_self.i18n import _safe_to_compile

    env = app.base_jinja_env
    for path in sorted((PROJECT_ROOT / "templates").rglob("*.html")):
        name = str(path.relative_to(PROJECT_ROOT / "templates"))
        tokens = list(env.lexer.tokenize(path.read_text(), name=name))
        assert _safe_to_compile(tokens), name


def test_values_are_still_escaped_and_translated(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        html = app.jinja_env.from_string(
            '{{ _("as of %(date)s", date=d) }}').render(d="<b>")
        expected = app.jinja_env.translations.ugettext("as of %(date)s")
    assert expected != "as of %(date)s"
    assert html == expected.replace("%(date)s", "&lt;b&gt;")


def test_languages_never_share_compiled_pages(client):
    """Alternate languages on one app: each page comes out in the language asked for."""
    for language, heading in [("zh-CN", "登录"), ("en", "Sign in"), ("zh-CN", "登录"), ("en", "Sign in")]:
        html = client.get("/login", headers={"Accept-Language": language}).get_data(as_text=True)
        assert "<h1" in html and heading in html.split("<h1", 1)[1].split("</h1>", 1)[0]


def test_each_request_gets_its_own_language_as_flask_babel_picks_it(app):
    """The request's language is worked out once and kept per language; requests in
    turn, by header and by cookie, each get what flask-babel itself would give them."""
    from flask_babel import get_locale, get_translations

    from credit_self import i18n

    cases = [({"Accept-Language": "zh-CN"}, "zh_Hans_CN", True),
             ({"Accept-Language": "en"}, "en", False),
             ({"Cookie": "lang=zh_CN", "Accept-Language": "en"}, "zh_Hans_CN", True),
             ({"Accept-Language": "fr"}, "en", False)]
    assert app.extensions["babel"].locale_selector is i18n.select_locale  # the one we call
    with app.app_context():  # the CLI: no request, flask-babel's default language
        assert (i18n.language().code, i18n.gettext("Sign in")) == ("en", "Sign in")
    for headers, code, chinese in cases * 2:
        with app.test_request_context("/login", headers=headers):
            language = i18n.language()
            assert (language.code, language.chinese) == (code, chinese), headers
            assert i18n.locale() == get_locale() and str(i18n.locale()) == code
            assert i18n.is_chinese() is chinese
            assert i18n.translations() is language.catalog
            assert i18n.gettext("Sign in") == get_translations().ugettext("Sign in")
            assert i18n.gettext("Sign in") == ("登录" if chinese else "Sign in")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_timestamps_read_exactly_as_babel_would_write_them(app, language):
    """datetime_long and time_of_day build their text from cached parts; they must match
    flask-babel's format_datetime / format_time in China Standard Time, for aware,
    naive (UTC) and ISO-string inputs."""
    import random
    from datetime import datetime, timedelta, timezone

    from flask_babel import format_datetime, format_time

    from credit_self import formatters

    rng = random.Random(7)
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    moments = [start + timedelta(seconds=rng.randrange(10**9)) for _ in range(150)]
    inputs = moments + [m.replace(tzinfo=None) for m in moments[:50]] + [
        m.astimezone(timezone(timedelta(hours=-5))).isoformat() for m in moments[:50]
    ]
    with app.test_request_context(headers={"Accept-Language": language}):
        for value in inputs:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
            pattern = "d MMMM y, HH:mm" if language == "en" else "medium"
            assert formatters.datetime_long(value) == format_datetime(moment, pattern)
            assert formatters.time_of_day(value) == format_time(moment, "HH:mm:ss")
