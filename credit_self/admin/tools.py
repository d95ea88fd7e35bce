"""The admin console's menu: each capability registers its own tools here, so the
console home needs no change when a capability adds one."""
from dataclasses import dataclass

from flask_babel import LazyString


@dataclass(frozen=True)
class AdminTool:
    endpoint: str
    label: LazyString | str
    description: LazyString | str
    roles: tuple[str, ...]


_TOOLS: list[AdminTool] = []


def register(endpoint: str, label, description, roles: tuple[str, ...]) -> None:
    if all(tool.endpoint != endpoint for tool in _TOOLS):
        _TOOLS.append(AdminTool(endpoint, label, description, roles))


def tools_for(role: str) -> list[AdminTool]:
    return [tool for tool in _TOOLS if role in tool.roles]
