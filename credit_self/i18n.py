"""Translations that cost almost nothing per request.

Two costs are removed here, with results identical to flask-babel's:

* Templates: every `{{ _("literal") }}` used to be a runtime call (Jinja's context
  call, then a catalog look-up, then `Markup % {}`), about 70 per page. Each language
  now gets its own Jinja environment (an overlay of the app's, sharing filters, globals
  and loader) whose templates are compiled with those literals already translated, so
  they render as constant text. Calls with variables (`_("x %(n)s", n=...)`), `ngettext`
  and anything not a single string literal stay runtime calls.
* Python code: flask-babel resolves the domain, locale and catalog on every gettext
  call (about ten context-local look-ups each), so the catalog and locale are resolved
  once per request and kept on `g`; `lazy_gettext` strings use the same path.
"""
from __future__ import annotations

from typing import Callable, Iterable

from babel import Locale
from babel.support import Translations
from flask import Flask, g, has_app_context, has_request_context
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString
from jinja2 import Environment
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup


def translations() -> Translations:
    if not has_app_context():
        return get_translations()  # no app: flask-babel's untranslated fallback
    cached = g.get("_translations")
    if cached is None:
        cached = g._translations = get_translations()
    return cached


def locale() -> Locale | None:
    if "_locale" not in g:
        g._locale = get_locale()
    return g._locale


def is_chinese() -> bool:
    chinese = g.get("_is_chinese")
    if chinese is None:
        current = locale()
        chinese = g._is_chinese = current is not None and current.language == "zh"
    return chinese


def gettext(string: str, **variables) -> str:
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    """A string translated when it is shown (module-level labels, form field labels)."""
    return LazyString(gettext, string, **variables)


# ------------------------------------------------------------------ templates

_GETTEXT_NAMES = ("_", "gettext")


class CompiledTranslations(Extension):
    """Replace `_("literal")` with its translation while a template is compiled.

    Active only in an environment that carries `translations` (the per-language
    overlays); the app's own environment keeps runtime calls. The replacement is the
    translated literal piped through `safe`, which Jinja folds into a constant: exactly
    what newstyle gettext returns at runtime in an autoescaped template
    (`Markup(translation) % {}`).
    """

    def filter_stream(self, stream: TokenStream) -> Iterable[Token]:
        catalog: Translations | None = getattr(self.environment, "translations", None)
        autoescape = self.environment.autoescape
        if callable(autoescape):
            autoescape = autoescape(stream.name)
        if catalog is None or not autoescape:
            return stream
        tokens = list(stream)
        out: list[Token] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            window = tokens[i:i + 4]
            if (
                len(window) == 4
                and token.type == "name" and token.value in _GETTEXT_NAMES
                and (not out or out[-1].type != "dot")
                and window[1].type == "lparen"
                and window[2].type == "string"
                and window[3].type == "rparen"
            ):
                translated = _translate_literal(catalog, window[2].value)
                if translated is not None:
                    line = token.lineno
                    out += [
                        Token(line, "lparen", "("),
                        Token(line, "string", translated),
                        Token(line, "pipe", "|"),
                        Token(line, "name", "safe"),
                        Token(line, "rparen", ")"),
                    ]
                    i += 4
                    continue
            out.append(token)
            i += 1
        return out


def _translate_literal(catalog: Translations, literal: str) -> str | None:
    try:
        return str(Markup(catalog.ugettext(literal)) % {})
    except (KeyError, TypeError, ValueError):
        return None  # a placeholder without a value: leave the runtime call to report it


def environment_for(base: Environment, cache: dict[str, Environment],
                    language_filters: Iterable[Callable[[bool], dict]] = ()) -> Environment:
    """The Jinja environment for the current request's language (created on first use).

    Each has its own compiled templates and, from `language_filters`, filters with the
    language fixed. Outside a request (CLI, start-up) the app's own environment is used.
    """
    if not has_request_context():
        return base
    current = locale()
    key = str(current) if current is not None else ""
    env = cache.get(key)
    if env is None:
        # A fresh template cache: templates compiled for another language (or none)
        # must never be shared.
        env = base.overlay(cache_size=400)
        env.translations = translations()
        chinese = current is not None and current.language == "zh"
        env.filters = dict(base.filters)
        for make_filters in language_filters:
            env.filters.update(make_filters(chinese))
        cache[key] = env
    return env


def install(app: Flask) -> None:
    """Templates' _() / gettext() / ngettext() use the per-request catalog at runtime;
    literal `_()` calls are translated once, when a language's templates compile."""
    app.jinja_env.install_gettext_callables(
        lambda string: translations().ugettext(string),
        lambda singular, plural, n: translations().ungettext(singular, plural, n),
        newstyle=True,
    )
    app.jinja_env.add_extension(CompiledTranslations)
