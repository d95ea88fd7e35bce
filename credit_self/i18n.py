"""Languages: which one a request gets, and marking strings for later translation.

Translation itself is flask-babel's: `gettext`, `ngettext` and `lazy_gettext` in Python,
`_()` and `ngettext()` in templates.
"""
from flask import current_app, has_request_context, request
from flask_babel import get_locale

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


def is_chinese() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def N_(string: str) -> str:
    """Mark a string for translation without translating it (gettext_noop): for tables
    of words translated when they are shown."""
    return string
