"""Realistic Chinese names and phone numbers for the synthetic register.

Surnames by place (Shanghai's ranking differs from the national one; the Jiaodong
peninsula around Rongcheng has its own), given names by sex and birth cohort: a few
names are very common (张伟, 王芳, 李静 ...) and most are rare, as in a real register.
"""
from __future__ import annotations

import bisect
import itertools

from .tables import table


def _zipf(items: list[str], exponent: float = 0.9) -> list[tuple[str, float]]:
    return [(item, 1.0 / (rank + 1) ** exponent) for rank, item in enumerate(items)]


def _head_and_tail(head: str, tail: str) -> list[tuple[str, float]]:
    """Weighted surnames: `head` is "姓:percent ..."; the tail shares the rest, tapering."""
    weighted = [(item.split(":")[0], float(item.split(":")[1])) for item in head.split()]
    names = tail.split()
    weighted += [(name, 1.0 - 0.7 * i / max(1, len(names) - 1)) for i, name in enumerate(names)]
    return weighted


def surnames(place: str) -> list[tuple[str, float]]:
    """Weighted surnames of "sh" (Shanghai) or "rc" (Rongcheng)."""
    pool = table("names")["surnames"][place]
    return _head_and_tail(pool["head"], pool["tail"])


def given_names(sex: str, cohort: int) -> list[tuple[str, float]]:
    """Weighted given names for a sex ("M", "F") and birth cohort (see `cohort`)."""
    names = table("names")
    key = f"{sex}{cohort}"
    singles = [c for c in names["single"][key].split() if len(c) == 1]
    popular = names["popular"][key].split()
    composed = [a + b for a in names["first"][sex].split() for b in names["second"][sex].split()
                if a != b]
    pool: dict[str, float] = {}
    for share, group, exponent in zip(names["mix"][str(cohort)], (singles, popular, composed),
                                      (0.7, 0.6, 0.3)):
        weighted = _zipf(list(dict.fromkeys(group)), exponent)
        total = sum(w for _, w in weighted)
        for name, w in weighted:
            pool[name] = pool.get(name, 0.0) + share * w / total
    return sorted(pool.items(), key=lambda item: (-item[1], item[0]))


def cohort(year: int) -> int:
    """Birth cohort: before 1962, 1962-1981, 1982-1996, 1997 on."""
    if year < 1962:
        return 0
    if year < 1982:
        return 1
    if year < 1997:
        return 2
    return 3


def phone_prefixes() -> list[str]:
    return table("names")["phone_prefixes"]


class Picker:
    """Weighted choice with one random number and a bisect (rng.choices per name would
    dominate seeding millions of residents)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, weighted: list[tuple[str, float]]):
        self.items = [item for item, _ in weighted]
        self.cum = list(itertools.accumulate(w for _, w in weighted))
        self.total = self.cum[-1]

    def pick(self, u: float) -> str:
        """The item for a uniform number u in [0, 1)."""
        return self.items[bisect.bisect_right(self.cum, u * self.total)]
