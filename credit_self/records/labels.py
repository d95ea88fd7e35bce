"""Status words for entries, as Jinja filters.

Filters rather than template macros: /me shows several tags per entry, and a macro call
costs several times a filter call (measured: the tags were a fifth of /me's render).
"""
from flask import Flask
from markupsafe import Markup, escape

from ..formatters import date_long, days_from_today
from ..i18n import gettext as _
from ..i18n import ngettext

# Tags are words first; the colour class is only a second cue (WCAG 1.4.1).
_KIND_TAGS = {
    "blacklist": ("tag--red", lambda: _("Blacklist")),
    "focus": ("tag--yellow", lambda: _("Priority scrutiny")),
    "redlist": ("tag--green", lambda: _("Redlist (reward)")),
}
_STATE_TAGS = {
    "active": ("tag--blue", lambda: _("Active")),
    "pending": ("tag--blue", lambda: _("Not yet in force")),
    "expired": ("tag--grey", lambda: _("Expired")),
    "withdrawn": ("tag--grey", lambda: _("Withdrawn")),
    "restored": ("tag--grey", lambda: _("Restored")),
}


def _tag(css_class: str, words: str) -> Markup:
    return Markup(f'<strong class="tag {css_class}">{escape(words)}</strong>')


def kind_tag(kind: str) -> Markup:
    css_class, words = _KIND_TAGS.get(kind, _KIND_TAGS["redlist"])
    return _tag(css_class, words())


def state_tag(state: str) -> Markup:
    css_class, words = _STATE_TAGS[state]
    return _tag(css_class, words())


def expiry_text(entry: dict) -> str:
    """'1 March 2027 (98 days left)', 'No end date: until the obligations are fulfilled'."""
    if not entry["expires_on"]:
        return _("No end date: until the obligations are fulfilled")
    text = date_long(entry["expires_on"])
    days = days_from_today(entry["expires_on"])
    if entry["state"] in ("active", "pending"):
        return f"{text} ({ngettext('%(num)d day left', '%(num)d days left', days)})"
    if entry["state"] == "expired":
        return f"{text} ({ngettext('ended %(num)d day ago', 'ended %(num)d days ago', -days)})"
    return text


def init_app(app: Flask) -> None:
    app.add_template_filter(kind_tag)
    app.add_template_filter(state_tag)
    app.add_template_filter(expiry_text)
