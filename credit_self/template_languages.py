"""Templates compiled once per language, with their fixed text already translated.

A page holds a hundred or so `_('...')` calls with a constant string; looking each up in
the catalog on every request was about a fifth of a page's time. Here each language gets
its own Jinja overlay environment (Jinja's public `Environment.overlay`) whose
`filter_stream` extension replaces `_('constant')` by its translation when the template
is compiled. Calls with variables or a computed string (`_(tag.words)`) stay calls, and
`ngettext` always does: both are translated when the page is rendered, as before.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import jinja2
from flask import Flask
from flask.templating import Environment as FlaskEnvironment
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

from . import i18n


class TranslatedConstants(Extension):
    """Replaces `_('text')` with the overlay's translation of 'text', as newstyle
    gettext would return it: formatted with no variables (`%%` → `%`) and, where the
    template autoescapes, marked safe."""

    def filter_stream(self, stream: TokenStream) -> Iterable[Token]:
        translations = getattr(self.environment, "compiled_translations", None)
        if translations is None:  # the environment every language overlays
            return stream
        autoescape = self.environment.autoescape
        escapes = autoescape(stream.name) if callable(autoescape) else autoescape
        return _translated(list(stream), translations, escapes)


def _translated(tokens: list[Token], translations: Any, escapes: bool) -> Iterator[Token]:
    index = 0
    while index < len(tokens):
        token = tokens[index]
        text = _constant_call(tokens, index)
        if text is None:
            yield token
            index += 1
            continue
        try:
            translated = translations.gettext(text) % {}
        except (KeyError, TypeError, ValueError):  # needs variables: leave it to run time
            yield token
            index += 1
            continue
        line = token.lineno
        yield Token(line, "lparen", "(")
        yield Token(line, "string", translated)
        if escapes:
            yield Token(line, "pipe", "|")
            yield Token(line, "name", "safe")
        yield Token(line, "rparen", ")")
        index += 4


def _constant_call(tokens: list[Token], index: int) -> str | None:
    """The string of a `_('text')` call starting at `index`, else None."""
    window = tokens[index:index + 4]
    if [t.type for t in window] != ["name", "lparen", "string", "rparen"]:
        return None
    if window[0].value != "_" or (index and tokens[index - 1].type == "dot"):
        return None
    return window[2].value


class Environment(FlaskEnvironment):
    """Flask's template environment that hands each request the overlay of its
    language; the overlays themselves load templates as plain Jinja does."""

    def __init__(self, app: Flask, **options: Any) -> None:
        super().__init__(app, **options)
        self.languages: dict[str, jinja2.Environment] | None = {}

    def get_template(self, name: Any, parent: str | None = None,
                     globals: Any = None) -> jinja2.Template:
        if self.languages is None:  # an overlay
            return super().get_template(name, parent, globals)
        return self._for_language().get_template(name, parent, globals)

    def _for_language(self) -> jinja2.Environment:
        language = i18n.language()
        code = str(language.locale) if language.locale is not None else ""
        assert self.languages is not None
        overlay = self.languages.get(code)
        if overlay is None:
            # A fresh cache of its own: a template compiled for one language is never
            # served in another. Globals and filters stay shared with this environment.
            overlay = self.overlay(extensions=[TranslatedConstants],
                                   cache_size=getattr(self.cache, "capacity", 400))
            overlay.languages = None  # type: ignore[attr-defined]
            overlay.compiled_translations = language.translations  # type: ignore[attr-defined]
            self.languages[code] = overlay
        return overlay
