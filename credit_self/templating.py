"""What every template can use: the layout's navigation and language switch, the
registry's entry tags and panels, and StrictUndefined so a typo fails loudly."""
from __future__ import annotations

from typing import Any

from flask import Flask, url_for
from flask_login import current_user
from jinja2 import StrictUndefined

from . import i18n, registry, start
from .i18n import LANGUAGE_NAMES, N_

# Every page says the data are simulated.
SIMULATION = registry.Tag(N_("Simulation"), "grey")


def _resident_nav() -> list[dict[str, Any]]:
    """The resident navigation for the signed-in resident, with each badge's count."""
    if not (current_user.is_authenticated and current_user.is_resident):
        return []
    return [{"endpoint": item.endpoint, "label": item.label, "href": url_for(item.endpoint),
             "badge": item.badge() if item.badge else 0, "badge_words": item.badge_words}
            for item in registry.resident_pages()]


def _layout() -> dict[str, Any]:
    language = i18n.language()
    code = str(language.locale) if language.locale is not None else "en"
    chinese = language.chinese
    return {
        "current_language": "zh_CN" if chinese else "en",
        "language_names": LANGUAGE_NAMES,
        "is_zh": chinese,
        "html_lang": "zh-Hans-CN" if chinese else code,
        "large_text": start.large_text(),
        "offers_text_size": start.offers_text_size(),
    }


def init_app(app: Flask) -> None:
    app.jinja_env.undefined = StrictUndefined
    app.context_processor(_layout)
    app.jinja_env.globals.update(
        resident_nav=_resident_nav,
        entry_tags=registry.entry_tags,
        entry_panels=registry.entry_panels,
        entry_decision=registry.entry_decision,
        admin_tools_for=registry.admin_tools_for,
        simulation=SIMULATION,
    )
