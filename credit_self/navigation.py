"""The resident's main navigation: each capability registers its own page here, so the
base layout needs no change when a capability is added."""
from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy_gettext string
    order: int


_ITEMS: list[NavItem] = []


def register(endpoint: str, label, order: int) -> None:
    if all(item.endpoint != endpoint for item in _ITEMS):
        _ITEMS.append(NavItem(endpoint, label, order))
        _ITEMS.sort(key=lambda item: item.order)


def items() -> list[NavItem]:
    return list(_ITEMS)
