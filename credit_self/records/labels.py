"""Status words for entries, as Jinja filters.

Filters rather than template macros: /me shows several tags per entry, and a macro call
costs several times a filter call (measured: the tags were a fifth of /me's render).
"""
from functools import partial

from flask import Flask
from markupsafe import Markup, escape

from .. import i18n
from ..formatters import date_long_in, days_from_today
from ..i18n import N_

# Tags are words first; the colour class is only a second cue (WCAG 1.4.1).
_KIND_TAGS = {
    "blacklist": ("tag--red", N_("Blacklist")),
    "focus": ("tag--yellow", N_("Priority scrutiny")),
    "redlist": ("tag--green", N_("Redlist (reward)")),
}
_STATE_TAGS = {
    "active": ("tag--blue", N_("Active")),
    "pending": ("tag--blue", N_("Not yet in force")),
    "expired": ("tag--grey", N_("Expired")),
    "withdrawn": ("tag--grey", N_("Withdrawn")),
    "restored": ("tag--grey", N_("Restored")),
}


def _tag(css_class: str, words: str) -> Markup:
    return Markup(f'<strong class="tag {css_class}">{escape(words)}</strong>')


def kind_tag(kind: str) -> Markup:
    return _kind_tag(kind, i18n.language())


def state_tag(state: str) -> Markup:
    return _state_tag(state, i18n.language())


def expiry_text(entry: dict) -> str:
    """'1 March 2027 (98 days left)', 'No end date: until the obligations are fulfilled'."""
    return _expiry_text(entry, i18n.language())


def _kind_tag(kind: str, language: i18n.Language) -> Markup:
    css_class, words = _KIND_TAGS.get(kind, _KIND_TAGS["redlist"])
    return _tag(css_class, language.gettext(words))


def _state_tag(state: str, language: i18n.Language) -> Markup:
    css_class, words = _STATE_TAGS[state]
    return _tag(css_class, language.gettext(words))


def _expiry_text(entry: dict, language: i18n.Language) -> str:
    if not entry["expires_on"]:
        return language.gettext("No end date: until the obligations are fulfilled")
    text = date_long_in(entry["expires_on"], language.chinese)
    days = days_from_today(entry["expires_on"])
    if entry["state"] in ("active", "pending"):
        return f"{text} ({language.ngettext('%(num)d day left', '%(num)d days left', days)})"
    if entry["state"] == "expired":
        return f"{text} ({language.ngettext('ended %(num)d day ago', 'ended %(num)d days ago', -days)})"
    return text


def language_filters(language: i18n.Language) -> dict:
    """The tags, worked out once per language (they depend on nothing else), and the
    expiry text bound to the language."""
    kind_tags = {kind: _kind_tag(kind, language) for kind in _KIND_TAGS}
    state_tags = {state: _state_tag(state, language) for state in _STATE_TAGS}
    return {
        "kind_tag": lambda kind: kind_tags.get(kind) or kind_tags["redlist"],
        "state_tag": state_tags.__getitem__,
        "expiry_text": partial(_expiry_text, language=language),
    }


def init_app(app: Flask) -> None:
    app.add_template_filter(kind_tag)
    app.add_template_filter(state_tag)
    app.add_template_filter(expiry_text)
    i18n.add_language_filters(app, language_filters)
