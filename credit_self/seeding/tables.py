"""The seed's fact tables (seed/population/*.json), read once per process."""
from __future__ import annotations

import json
from functools import cache
from typing import Any

from ..config import PROJECT_ROOT

SEED_DIR = PROJECT_ROOT / "seed"


@cache
def table(name: str) -> Any:
    """seed/population/<name>.json: places, names, facts, profiles, pilot_events."""
    with (SEED_DIR / "population" / f"{name}.json").open(encoding="utf-8") as f:
        return json.load(f)


def pairs(items: list[list[str]]) -> list[tuple[str, ...]]:
    """JSON lists back to the (English, Chinese) tuples the generator passes around."""
    return [tuple(item) for item in items]
