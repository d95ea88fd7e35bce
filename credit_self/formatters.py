"""Jinja filters: every date and time on a page is formatted through these, by Babel in
the reader's language (the request's locale, see i18n.language) and China Standard
Time."""
from datetime import date, datetime, timezone

from babel.dates import format_date, format_datetime
from flask import Flask

from . import clock, i18n, identity
from .clock import LOCAL_TZ
from .i18n import N_


def _as_date(value: date | str) -> date:
    """The China calendar day of a date, or of a moment (a timestamp is UTC)."""
    if isinstance(value, str) and len(value) > 10:
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return _in_china(value).date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _in_china(value: datetime | str) -> datetime:
    """A stored timestamp (UTC ISO text; naive means UTC) in China Standard Time."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(LOCAL_TZ)


def date_long(value: date | str | None) -> str:
    """'1 January 2026' (GOV.UK style, day first) or '2026年1月1日'."""
    if value is None:
        return ""
    language = i18n.language()
    return format_date(_as_date(value), "long" if language.chinese else "d MMMM y",
                       locale=language.locale or "en")


def datetime_long(value: datetime | str | None) -> str:
    """'1 January 2026, 14:05' or '2026年1月1日 14:05:00', in China Standard Time."""
    if value is None:
        return ""
    language = i18n.language()
    return format_datetime(_in_china(value), "medium" if language.chinese else "d MMMM y, HH:mm",
                           locale=language.locale or "en")


def time_of_day(value: datetime | str) -> str:
    """HH:MM:SS in China Standard Time."""
    return f"{_in_china(value):%H:%M:%S}"


def days_from_today(value: date | str) -> int:
    """Whole days from today (China time) to the date; negative when past."""
    return (_as_date(value) - clock.today()).days


SEX_WORDS = {"F": N_("female"), "M": N_("male")}


def sex_word(code: str | None) -> str:
    """'female' or 'male' (女, 男) for a recorded sex code; other values as they are."""
    if code not in SEX_WORDS:
        return code or ""
    return i18n.language().translations.ugettext(SEX_WORDS[code])


def localized(row: dict, field: str) -> str:
    """`<field>_zh` or `<field>_en` for the reader's language, falling back to the other
    when a department supplied only one."""
    first, second = ("zh", "en") if i18n.is_chinese() else ("en", "zh")
    return row.get(f"{field}_{first}") or row.get(f"{field}_{second}") or ""


def init_app(app: Flask) -> None:
    for function in (date_long, datetime_long, time_of_day, days_from_today, localized, sex_word):
        app.add_template_filter(function)
    app.add_template_filter(identity.mask_id, "mask_id")
    app.add_template_filter(identity.mask_name, "mask_name")
