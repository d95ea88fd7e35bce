"""Rules about list entries, as pure functions of the entry and a date.

Expiry is computed at read time from dates, so no scheduled job is needed for
correctness: an entry whose `expires_on` has passed is shown as expired the same day.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

# Entry states as the resident sees them.
ACTIVE = "active"
PENDING = "pending"  # a notice: recorded, but the day it takes effect is still ahead
EXPIRED = "expired"
WITHDRAWN = "withdrawn"
RESTORED = "restored"

# Publication tiers (NDRC credit-repair measures): minimum days before a repair
# application may be made. Minor entries may be repaired at once.
TIER_MINIMUM_DAYS = {"minor": 0, "general": 90, "serious": 365}

FOCUS_FLAG_THRESHOLD = 3

# Publication tier of each list's entries (NDRC credit-repair measures); a list not named
# here is "general" for blacklists and focus lists, "minor" for redlists.
LIST_TIER = {
    "judgment_defaulter": "serious",
    "restricted_consumption": "serious",
    "railway_misconduct": "general",
    "aviation_misconduct": "serious",
    "major_tax_violation": "serious",
    "procurement_dishonesty": "serious",
    "focus_market_regulation": "general",
    "focus_transport": "general",
    "focus_ecology": "general",
    "focus_work_safety": "general",
    "taxpayer_a": "minor",
    "blood_donor": "minor",
    "volunteer_honours": "minor",
}


def tier_for(list_code: str, kind: str) -> str:
    return LIST_TIER.get(list_code) or ("minor" if kind == "redlist" else "general")


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def takes_effect_on(entry: dict) -> date:
    """The day the entry starts to count: its notice period's end (`publish_on`) when the
    department gave one, else its listing date."""
    return _d(entry.get("publish_on") or entry["listed_on"])


def entry_state(entry: dict, today: date) -> str:
    """Active = status 'listed' and takes_effect_on <= today < expires_on (or no expiry)."""
    if entry["status"] == "withdrawn":
        return WITHDRAWN
    if entry["status"] == "restored":
        return RESTORED
    expires_on = _d(entry["expires_on"])
    if expires_on is not None and expires_on <= today:
        return EXPIRED
    if takes_effect_on(entry) > today:
        return PENDING
    return ACTIVE


def earliest_repair_date(entry: dict) -> date | None:
    """First day a credit-repair application may be made, or None if the list has no
    application route (court lists end on performance; redlists need none)."""
    if entry["kind"] == "redlist" or entry["restoration_min_days"] is None:
        return None
    minimum = max(entry["restoration_min_days"], TIER_MINIMUM_DAYS.get(entry["tier"], 0))
    return _d(entry["listed_on"]) + timedelta(days=minimum)


@dataclass
class RecordSummary:
    """What /me shows: entries grouped, the restrictions and the scrutiny flag."""

    active: list[dict] = field(default_factory=list)
    notices: list[dict] = field(default_factory=list)  # pending: not in effect yet
    expired: list[dict] = field(default_factory=list)
    closed: list[dict] = field(default_factory=list)  # withdrawn or restored
    restrictions: list[dict] = field(default_factory=list)
    focus_entries: list[dict] = field(default_factory=list)
    expiring_soon: list[dict] = field(default_factory=list)

    @property
    def focus_flagged(self) -> bool:
        return len(self.focus_entries) >= FOCUS_FLAG_THRESHOLD

    @property
    def total(self) -> int:
        return len(self.active) + len(self.notices) + len(self.expired) + len(self.closed)


def summarise(entries: list[dict], today: date, warning_days: int) -> RecordSummary:
    """Group entries newest first and derive restrictions from active blacklist entries.

    Each entry dict carries `kind`, `sanctions` (list of dicts with `code`) and the
    entry columns; `state` is added to it.
    """
    summary = RecordSummary()
    seen_sanctions: dict[str, dict] = {}
    for entry in sorted(entries, key=lambda e: (e["listed_on"], e["id"]), reverse=True):
        entry["state"] = entry_state(entry, today)
        entry["earliest_repair"] = earliest_repair_date(entry)
        if entry["state"] == ACTIVE:
            summary.active.append(entry)
        elif entry["state"] == PENDING:
            summary.notices.append(entry)
        elif entry["state"] == EXPIRED:
            summary.expired.append(entry)
        else:
            summary.closed.append(entry)
        if entry["state"] != ACTIVE:
            continue
        if entry["kind"] == "blacklist":
            for sanction in entry["sanctions"]:
                seen_sanctions.setdefault(sanction["code"], sanction)
        elif entry["kind"] == "focus":
            summary.focus_entries.append(entry)
        expires_on = _d(entry["expires_on"])
        if expires_on is not None and (expires_on - today).days <= warning_days:
            summary.expiring_soon.append(entry)
    summary.restrictions = list(seen_sanctions.values())
    return summary


def identifier_differences(entry: dict, resident: dict) -> list[dict]:
    """Where the department's recorded identifiers differ from the population register:
    the usual sign of a same-name mix-up."""
    register = {
        "name": resident["name"],
        "sex": resident["sex"],
        "birth_year": int(resident["birth_date"][:4]),
        "region_code": resident["region_code"],
    }
    recorded = {
        "name": entry["recorded_name"],
        "sex": entry["recorded_sex"],
        "birth_year": entry["recorded_birth_year"],
        "region_code": entry["recorded_region_code"],
    }
    return [
        {"field": key, "recorded": recorded[key], "register": register[key]}
        for key in register
        if recorded[key] is not None and recorded[key] != register[key]
    ]
