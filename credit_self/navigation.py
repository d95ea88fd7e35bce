"""The resident's main navigation: each capability registers its own page here, so the
base layout needs no change when a capability is added."""
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str  # the English words, marked with i18n.N_ for translation
    order: int


_ITEMS: list[NavItem] = []


def register(endpoint: str, label, order: int) -> None:
    if all(item.endpoint != endpoint for item in _ITEMS):
        _ITEMS.append(NavItem(endpoint, label, order))
        _ITEMS.sort(key=lambda item: item.order)


@dataclass(frozen=True)
class Link:
    endpoint: str
    label: str
    href: str


def links(language, url_for: Callable[[str], str]) -> list[Link]:
    """The navigation in one language (an i18n.Language), with each page's URL. The
    layout keeps the result per language and mount point (`language_globals`)."""
    return [Link(item.endpoint, language.gettext(item.label), url_for(item.endpoint))
            for item in _ITEMS]
