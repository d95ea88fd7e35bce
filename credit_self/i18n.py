"""Languages: which one a request gets, and marking strings for later translation.

Translation is flask-babel's: `gettext`, `ngettext` and `lazy_gettext` in Python,
`_()` and `ngettext()` in templates. A page asks for its language a few hundred times
(every `_()`, date and bilingual field), so the request's locale and catalog, as
flask-babel gives them, are looked up once and kept on `g` (`language()`).
"""
from dataclasses import dataclass

from babel import Locale
from babel.support import Translations
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import get_locale, get_translations

LANGUAGE_COOKIE = "lang"
LANGUAGE_NAMES = {"en": "English", "zh_CN": "中文"}


def select_locale() -> str | None:
    """flask-babel's locale selector: the language cookie wins, then the browser's
    Accept-Language. None outside a request (the CLI): flask-babel's default."""
    if not has_request_context():
        return None
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]


@dataclass(frozen=True)
class Language:
    locale: Locale | None
    translations: Translations

    @property
    def chinese(self) -> bool:
        return self.locale is not None and self.locale.language == "zh"


def language() -> Language:
    """This request's locale and catalog (flask-babel's), looked up once per request."""
    try:
        return g.language
    except AttributeError:  # the request's first look-up
        g.language = Language(get_locale(), get_translations())
        return g.language
    except RuntimeError:  # no app context (flask-babel then answers its defaults)
        return Language(get_locale(), get_translations())


def is_chinese() -> bool:
    return language().chinese


def init_app(app: Flask) -> None:
    """Templates' `_()` and `ngettext()` read the request's catalog from `language()`
    (flask-babel's own callables would look it up again on every call)."""
    app.jinja_env.install_gettext_callables(
        lambda string: language().translations.ugettext(string),
        lambda singular, plural, n: language().translations.ungettext(singular, plural, n),
        newstyle=True,
    )


def N_(string: str) -> str:
    """Mark a string for translation without translating it (gettext_noop): for tables
    of words translated when they are shown."""
    return string
