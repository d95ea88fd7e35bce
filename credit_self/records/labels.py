"""The words for entries: their kind and state as status tags, and how long they last."""
from flask_babel import gettext as _
from flask_babel import ngettext

from .. import i18n
from ..formatters import date_long, days_from_today
from ..i18n import N_
from ..registry import Tag
from ..seeding.facts import district_en, places

# Tags are words first; the colour is only a second cue (WCAG 1.4.1).
ENTRY_KINDS = {
    "blacklist": Tag(N_("Blacklist"), "red"),
    "focus": Tag(N_("Priority scrutiny"), "yellow"),
    "redlist": Tag(N_("Redlist (reward)"), "green"),
}
ENTRY_STATES = {
    "active": Tag(N_("Active"), "blue"),
    "pending": Tag(N_("Not yet in force"), "blue"),
    "expired": Tag(N_("Expired"), "grey"),
    "withdrawn": Tag(N_("Withdrawn"), "grey"),
    "restored": Tag(N_("Restored"), "grey"),
}

# Fields of entry_history rows (what changed), in words.
HISTORY_FIELDS = {
    "created": N_("Listed"),
    "status": N_("Status"),
    "listed_on": N_("Listed on"),
    "expires_on": N_("Ends"),
    "recorded_name": N_("Recorded name"),
    "facts_zh": N_("What was recorded"),
    "facts_en": N_("What was recorded"),
    "source_agency_zh": N_("Recorded by"),
    "source_agency_en": N_("Recorded by"),
}

# Values of entries.status as history rows record them ("listed" is the stored word for
# an entry in force).
ENTRY_STATUS_WORDS = {"listed": N_("Active"), "withdrawn": N_("Withdrawn"), "restored": N_("Restored"),
                      "expired": N_("Expired")}


def expiry_text(entry: dict) -> str:
    """'1 March 2027 (98 days left)', 'No end date: until the obligations are fulfilled'."""
    if not entry["expires_on"]:
        return _("No end date: until the obligations are fulfilled")
    text = date_long(entry["expires_on"])
    days = days_from_today(entry["expires_on"])
    if entry["state"] in ("active", "pending"):
        left = ngettext("%(num)d day left", "%(num)d days left", days)
    elif entry["state"] == "expired":
        left = ngettext("ended %(num)d day ago", "ended %(num)d days ago", -days)
    else:
        return text
    # Chinese brackets the count its own way: the pattern is translated too.
    return _("%(date)s (%(count)s)", date=text, count=left)


def region_name(code: str) -> str | None:
    """The district an ID number's first six digits name, in the reader's language."""
    if code not in places()["regions"]:
        return None
    return places()["regions"][code]["zh"] if i18n.is_chinese() else district_en(code)


def identifier_words(field: str, value) -> str:
    """A recorded or registered identifier as a person reads it: female/male, the
    district's name (with its code), the year of birth, the name."""
    if field == "sex":
        return {"F": _("female"), "M": _("male")}.get(value, str(value))
    if field == "region_code":
        name = region_name(value)
        return _("%(district)s (%(code)s)", district=name, code=value) if name else str(value)
    return str(value)
