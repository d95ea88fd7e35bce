"""Where capabilities plug into the shared layout, so none has to know another.

- Resident pages: each capability adds its pages to the resident navigation, with an
  optional badge (the inbox's unread count).
- Admin tools: each capability adds the staff pages its roles may use to the console.
- Entry cards: records shows every entry; other capabilities add tags to it ("Under
  dispute") and panels below its details (what you can do about it).
- Public API: each capability describes its public JSON endpoints, which
  /api/v1/openapi.json publishes (and the fuzz test checks the app against).

Registration happens when a capability's views module is imported (once per process)
and is idempotent, so every app made in the same process sees the same items.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable



@dataclass(frozen=True)
class Tag:
    """A status tag: words first; the colour (green, blue, yellow, red, grey) is only a
    second cue (WCAG 1.4.1). Printed by the `tag` macro in macros/tags.html.

    `words` is the English msgid (marked with N_), translated by the macro when shown.
    """

    words: str
    colour: str


# Labels and descriptions below are English msgids (marked with N_), translated by the
# templates that show them.


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    order: int
    # The signed-in resident's count to show beside the label (0 shows nothing), and
    # what a screen reader hears after the number ("unread").
    badge: Callable[[], int] | None = None
    badge_words: str | None = None


@dataclass(frozen=True)
class AdminTool:
    endpoint: str
    label: str
    description: str
    roles: tuple[str, ...]


_resident_pages: list[NavItem] = []
_admin_tools: list[AdminTool] = []
_entry_tag_providers: list[Callable[[dict], list[Tag]]] = []
_entry_panels: list[str] = []
_api_paths: dict[str, dict] = {}
_api_schemas: dict[str, dict] = {}
_decision_describers: list[Callable[[int], dict | None]] = []


def add_resident_page(endpoint: str, label: str, order: int,
                      badge: Callable[[], int] | None = None,
                      badge_words: str | None = None) -> None:
    if all(item.endpoint != endpoint for item in _resident_pages):
        _resident_pages.append(NavItem(endpoint, label, order, badge, badge_words))
        _resident_pages.sort(key=lambda item: item.order)


def resident_pages() -> list[NavItem]:
    return list(_resident_pages)


def add_admin_tool(endpoint: str, label: str, description: str,
                   roles: tuple[str, ...]) -> None:
    if all(tool.endpoint != endpoint for tool in _admin_tools):
        _admin_tools.append(AdminTool(endpoint, label, description, roles))


def admin_tools_for(role: str) -> list[AdminTool]:
    return [tool for tool in _admin_tools if role in tool.roles]


def add_entry_tags(provider: Callable[[dict], list[Tag]]) -> None:
    """`provider(entry)` returns the tags a capability adds to an entry card."""
    if provider not in _entry_tag_providers:
        _entry_tag_providers.append(provider)


def entry_tags(entry: dict) -> list[Tag]:
    return [tag for provider in _entry_tag_providers for tag in provider(entry)]


def add_entry_panel(template: str) -> None:
    """A template included under an entry's details, with `entry` (and `differences`,
    the identifiers the department recorded differently) in its context."""
    if template not in _entry_panels:
        _entry_panels.append(template)


def entry_panels() -> list[str]:
    return list(_entry_panels)


def add_api_description(paths: dict[str, dict], schemas: dict[str, dict] | None = None) -> None:
    """OpenAPI path items (and the component schemas they refer to) for the API document."""
    _api_paths.update(paths)
    _api_schemas.update(schemas or {})


def api_description() -> tuple[dict[str, dict], dict[str, dict]]:
    """(paths, component schemas) the capabilities described."""
    return dict(_api_paths), dict(_api_schemas)
def add_decision_describer(describer: Callable[[int], dict | None]) -> None:
    """`describer(correction_id)` names the decision that changed an entry, for its card:
    {"reference", "note", "url"}, or None when it is not the describer's (or not the
    reader's) correction."""
    if describer not in _decision_describers:
        _decision_describers.append(describer)


def entry_decision(correction_id: int | None) -> dict | None:
    if correction_id is None:
        return None
    return next((found for describer in _decision_describers
                 if (found := describer(correction_id)) is not None), None)
