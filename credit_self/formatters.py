"""Jinja filters: every date and number on a page is formatted through these."""
from datetime import date, datetime
from functools import lru_cache

from babel import dates as babel_dates
from flask import Flask
from flask_babel import format_datetime, format_time

from . import clock, i18n, identity


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def date_long(value: date | str | None) -> str:
    """'1 January 2026' in English, '2026年1月1日' in Chinese."""
    if value is None:
        return ""
    return _format_day(_as_date(value), i18n.is_chinese())


@lru_cache(maxsize=4096)
def _format_day(day: date, chinese: bool) -> str:
    # Babel's formatter is slow and a page shows the same few dates again and again.
    if chinese:
        return babel_dates.format_date(day, "long", locale="zh_Hans_CN")
    # GOV.UK style, day first, whatever the English region.
    return babel_dates.format_date(day, "d MMMM y", locale="en")


def datetime_long(value: datetime | str | None) -> str:
    """Date and time in the reader's locale, shown in China Standard Time."""
    if value is None:
        return ""
    moment = _as_datetime(value)
    if not i18n.is_chinese():
        return format_datetime(moment, "d MMMM y, HH:mm")
    return format_datetime(moment, "medium")


def time_of_day(value: datetime | str) -> str:
    return format_time(_as_datetime(value), "HH:mm:ss")


def days_from_today(value: date | str) -> int:
    """Whole days from today (China time) to the date; negative when past."""
    return (_as_date(value) - clock.today()).days


def init_app(app: Flask) -> None:
    app.add_template_filter(date_long)
    app.add_template_filter(datetime_long)
    app.add_template_filter(time_of_day)
    app.add_template_filter(days_from_today)
    app.add_template_filter(localized)
    app.add_template_filter(identity.mask_id, "mask_id")
    app.add_template_filter(identity.mask_name, "mask_name")


def localized(row: dict, field: str) -> str:
    """Pick `<field>_zh` or `<field>_en` for the reader's language, falling back to
    the other when a department supplied only one."""
    first, second = ("zh", "en") if i18n.is_chinese() else ("en", "zh")
    return row.get(f"{field}_{first}") or row.get(f"{field}_{second}") or ""
