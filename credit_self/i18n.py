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

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable

from babel import Locale
from babel.support import Translations
from flask import Flask, has_request_context
from flask.globals import _cv_app, _cv_request
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString
from jinja2 import Environment
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from .request_globals import once_per_request


def translations() -> Translations:
    return language().catalog


def locale() -> Locale | None:
    return language().locale


def is_chinese() -> bool:
    return language().chinese


def gettext(string: str, **variables) -> str:
    return _gettext(translations(), string, variables)


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    return _ngettext(translations(), singular, plural, num, variables)


def _gettext(catalog: Translations, string: str, variables: dict) -> str:
    text = catalog.ugettext(string)
    return text % variables if variables else text


def _ngettext(catalog: Translations, singular: str, plural: str, num: int,
              variables: dict) -> str:
    variables.setdefault("num", num)
    return catalog.ungettext(singular, plural, num) % variables


@dataclass(frozen=True)
class Language:
    """One language's locale and catalog, for things computed once per language rather
    than per call: the language-bound template filters (see `environment_for`)."""

    code: str
    chinese: bool
    catalog: Translations
    locale: Locale | None = None

    def gettext(self, string: str, **variables) -> str:
        return _gettext(self.catalog, string, variables)

    def ngettext(self, singular: str, plural: str, num: int, **variables) -> str:
        return _ngettext(self.catalog, singular, plural, num, variables)


LANGUAGE_COOKIE = "lang"


def language() -> Language:
    """The current request's language, worked out once per request: every template
    render, translation and language-bound helper asks for it."""
    return once_per_request("_language", _current_language)


def select_locale() -> Locale | None:
    """The app's locale selector (given to flask-babel in create_app): the language
    cookie wins, otherwise the browser's Accept-Language. None outside a request (the
    CLI, start-up), which flask-babel answers with its default locale."""
    context = _cv_request.get(None)
    if context is None:
        return None
    languages = context.app.config["LANGUAGES"]
    chosen = context.request.cookies.get(LANGUAGE_COOKIE)
    if chosen not in languages:
        chosen = _best_language(context.request.headers.get("Accept-Language", ""),
                                tuple(languages))
    return _parsed_locale(chosen)


@lru_cache(maxsize=512)
def _best_language(accept_language: str, languages: tuple[str, ...]) -> str:
    # Browsers send a handful of distinct headers; parsing and matching each is ~70 calls.
    accepted = parse_accept_header(accept_language, LanguageAccept)
    return accepted.best_match(languages) or languages[0]


@lru_cache(maxsize=16)
def _parsed_locale(code: str) -> Locale:
    # flask-babel parses what the selector returns on every request; a Locale passes
    # through as it is.
    return Locale.parse(code)


def _current_language() -> Language:
    # In a request, the app's locale selector itself: flask-babel's get_locale() would
    # call it and return its Locale as it is, after several context look-ups. Outside
    # one (the selector says None), flask-babel's default locale, or None with no app.
    current = select_locale()
    if current is None:
        current = get_locale()
    code = str(current) if current is not None else ""
    context = _cv_app.get(None)
    if context is None:  # no app: flask-babel's untranslated fallback
        return Language(code, False, get_translations(), current)
    # flask-babel walks the domain, locale and its cache for each look-up; a language's
    # catalog never changes while the app runs.
    languages = context.app.extensions.setdefault("i18n_languages", {})
    found = languages.get(code)
    if found is None:
        chinese = current is not None and current.language == "zh"
        found = languages[code] = Language(code, chinese, get_translations(), current)
    return found


def N_(string: str) -> str:
    """Mark a string for translation without translating it (gettext_noop): for tables
    of words translated later, once per language."""
    return string


def lazy_gettext(string: str, **variables) -> LazyString:
    """A string translated when it is shown (module-level labels, form field labels)."""
    return LazyString(gettext, string, **variables)


# ------------------------------------------------------------------ templates

_GETTEXT_NAMES = ("_", "gettext")


class CompiledTranslations(Extension):
    """Replace `_("literal")` (with or without `name=value` arguments) with its
    translation while a template is compiled.

    Active only in an environment that carries `translations` (the per-language
    overlays); the app's own environment keeps runtime calls. The replacement is the
    translated literal piped through `safe`, which Jinja folds into a constant, then
    formatted with the values when there are any: exactly what newstyle gettext returns
    at runtime in an autoescaped template (`Markup(translation) % variables`).
    """

    def filter_stream(self, stream: TokenStream) -> Iterable[Token]:
        catalog: Translations | None = getattr(self.environment, "translations", None)
        autoescape = self.environment.autoescape
        if callable(autoescape):
            autoescape = autoescape(stream.name)
        if catalog is None or not autoescape:
            return stream
        tokens = list(stream)
        if not _safe_to_compile(tokens):
            return tokens
        out: list[Token] = []
        i = 0
        while i < len(tokens):
            replacement = _compiled_call(catalog, tokens, i, out[-1] if out else None)
            if replacement is not None:
                emitted, i = replacement
                out += emitted
                continue
            out.append(tokens[i])
            i += 1
        return out


def _safe_to_compile(tokens: list[Token]) -> bool:
    """Whether every `_` in the template is the gettext call in an autoescaped context.

    A template that switches autoescape in a block, or uses `_`/`gettext` as anything
    but a call (`{% set _ = ... %}`, a macro parameter, a loop variable), keeps runtime
    calls throughout: there the compiled form could differ.
    """
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.type == "block_begin" and following is not None and \
                following.type == "name" and following.value == "autoescape":
            return False
        if token.type == "name" and token.value in _GETTEXT_NAMES and \
                (following is None or following.type != "lparen"):
            if index and tokens[index - 1].type == "dot":
                continue  # an attribute that happens to be named _: not ours
            return False
    return True


def _compiled_call(catalog: Translations, tokens: list[Token], i: int,
                   previous: Token | None) -> tuple[list[Token], int] | None:
    """Tokens for `_("literal")` or `_("literal", name=expr, ...)` starting at i, and
    the index after the call; None when the call is anything else.

    `_("x %(n)s", n=v)` becomes `("translated"|safe) % {"n": (v)}`: Markup's `%`
    escapes the values, exactly as newstyle gettext's `Markup(rv) % variables` does.
    """
    token = tokens[i]
    if not (
        token.type == "name" and token.value in _GETTEXT_NAMES
        and (previous is None or previous.type != "dot")
        and not (previous is not None and previous.type == "name" and previous.value == "call")
        and i + 3 < len(tokens)
        and tokens[i + 1].type == "lparen" and tokens[i + 2].type == "string"
        and tokens[i + 3].type in ("rparen", "comma")
    ):
        return None
    line = token.lineno
    literal = tokens[i + 2].value
    j = i + 3
    arguments: list[tuple[str, list[Token]]] = []
    while tokens[j].type == "comma":
        # name = expression, up to the next comma or the closing parenthesis at depth 0
        if not (tokens[j + 1].type == "name" and tokens[j + 2].type == "assign"):
            return None
        name, j, depth, expression = tokens[j + 1].value, j + 3, 0, []
        while depth or tokens[j].type not in ("comma", "rparen"):
            if tokens[j].type in ("lparen", "lbracket", "lbrace"):
                depth += 1
            elif tokens[j].type in ("rparen", "rbracket", "rbrace"):
                depth -= 1
            if tokens[j].type == "eof":
                return None
            expression.append(tokens[j])
            j += 1
        if not expression or name in (known for known, _ in arguments):
            return None  # empty, or a repeated name: leave the error to runtime
        arguments.append((name, expression))
    if arguments:
        translation = catalog.ugettext(literal)
    else:
        translation = _translate_literal(catalog, literal)
        if translation is None:
            return None
    emitted = [
        Token(line, "lparen", "("),
        Token(line, "string", translation),
        Token(line, "pipe", "|"),
        Token(line, "name", "safe"),
        Token(line, "rparen", ")"),
    ]
    if arguments:
        emitted += [Token(line, "mod", "%"), Token(line, "lbrace", "{")]
        for index, (name, expression) in enumerate(arguments):
            if index:
                emitted.append(Token(line, "comma", ","))
            emitted += [Token(line, "string", name), Token(line, "colon", ":"),
                        Token(line, "lparen", "("), *expression, Token(line, "rparen", ")")]
        emitted.append(Token(line, "rbrace", "}"))
        emitted = [Token(line, "lparen", "("), *emitted, Token(line, "rparen", ")")]
    return emitted, j + 1


def _translate_literal(catalog: Translations, literal: str) -> str | None:
    try:
        return str(Markup(catalog.ugettext(literal)) % {})
    except (KeyError, TypeError, ValueError):
        return None  # a placeholder without a value: leave the runtime call to report it


def add_language_filters(app: Flask, make_filters: Callable[[Language], dict]) -> None:
    """Register filters that depend only on the language: `make_filters(language)`
    returns them with the language fixed, once for each language's environment."""
    app.extensions.setdefault("language_filters", []).append(make_filters)


def environment_for(base: Environment, cache: dict[str, Environment],
                    language_filters: Iterable[Callable[[Language], dict]] = ()) -> Environment:
    """The Jinja environment for the current request's language (created on first use).

    Each has its own compiled templates and, from `language_filters`, filters with the
    language fixed. Outside a request (CLI, start-up) the app's own environment is used.
    """
    if not has_request_context():
        return base
    current = language()
    env = cache.get(current.code)
    if env is None:
        # A fresh template cache: templates compiled for another language (or none)
        # must never be shared.
        env = base.overlay(cache_size=400)
        env.translations = current.catalog
        env.filters = dict(base.filters)
        for make_filters in language_filters:
            env.filters.update(make_filters(current))
        cache[current.code] = env
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
