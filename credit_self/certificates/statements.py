"""What a special credit report can state, each statement about the holder's active
blacklist entries and computed live from them (no Flask here)."""
from flask_babel import lazy_gettext as _l

from ..forms import Choices

# The order the form, the certificate and the credential show them in.
STATEMENTS = Choices((
    ("no_blacklist", _l("No active blacklist entry at all")),
    ("no_judgment_defaulter", _l("No active judgment-defaulter listing")),
    ("no_restricted_consumption", _l("No active high-consumption restriction")),
    ("no_railway_misconduct", _l("No active railway misconduct listing")),
    ("no_aviation_misconduct", _l("No active civil-aviation misconduct listing")),
    ("no_major_tax_violation", _l("No active major tax violation")),
    ("no_procurement_dishonesty", _l("No active government-procurement exclusion")),
))
# The certificate before reports could be scoped stated exactly this.
PRESET = ("no_blacklist",)
# Each statement but the preset denies one list of the seed catalog (seed/lists.json);
# the preset denies every list of kind blacklist.
LIST_CODES = {
    "no_judgment_defaulter": "judgment_defaulter",
    "no_restricted_consumption": "restricted_consumption",
    "no_railway_misconduct": "railway_misconduct",
    "no_aviation_misconduct": "aviation_misconduct",
    "no_major_tax_violation": "major_tax_violation",
    "no_procurement_dishonesty": "procurement_dishonesty",
}


def contradicting(statement: str, active_entries: list[dict]) -> list[dict]:
    """The active blacklist entries (dicts with `list_code`) that make `statement` false."""
    code = LIST_CODES.get(statement)
    return [entry for entry in active_entries if code is None or entry["list_code"] == code]


def false_statements(active_entries: list[dict]) -> dict[str, list[dict]]:
    """Every statement that is false today, with the entries that make it so."""
    found = {statement: contradicting(statement, active_entries) for statement in STATEMENTS.values}
    return {statement: entries for statement, entries in found.items() if entries}


def encode(chosen) -> str:
    """The stored form: codes in the catalog's order, space-separated."""
    return " ".join(code for code in STATEMENTS.values if code in set(chosen))


def decode(stored: str) -> tuple[str, ...]:
    return tuple(stored.split())
