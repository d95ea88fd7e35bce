"""Jinja filters: every date and number on a page is formatted through these."""
from datetime import date, datetime, timezone
from functools import lru_cache, partial

from babel import dates as babel_dates
from flask import Flask

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
    return date_long_in(value, i18n.is_chinese())


def date_long_in(value: date | str | None, chinese: bool) -> str:
    if value is None:
        return ""
    return _format_day(_as_date(value), chinese)


@lru_cache(maxsize=4096)
def _format_day(day: date, chinese: bool) -> str:
    # Babel's formatter is slow and a page shows the same few dates again and again.
    if chinese:
        return babel_dates.format_date(day, "long", locale="zh_Hans_CN")
    # GOV.UK style, day first, whatever the English region.
    return babel_dates.format_date(day, "d MMMM y", locale="en")


def datetime_long(value: datetime | str | None) -> str:
    """Date and time in the reader's locale, shown in China Standard Time.

    The same text as flask-babel's format_datetime with "d MMMM y, HH:mm" (English)
    and "medium" (Chinese: y年M月d日 HH:mm:ss), built from the cached date so a page
    of timestamps does not run Babel's pattern formatter for each one.
    """
    return _datetime_long(value, i18n.is_chinese())


def _datetime_long(value: datetime | str | None, chinese: bool) -> str:
    if value is None:
        return ""
    moment = _in_china_time(value)
    if not chinese:
        return f"{_format_day(moment.date(), False)}, {moment:%H:%M}"
    return f"{_medium_day_zh(moment.date())} {moment:%H:%M:%S}"


def time_of_day(value: datetime | str) -> str:
    """HH:MM:SS in China Standard Time."""
    return f"{_in_china_time(value):%H:%M:%S}"


def _in_china_time(value: datetime | str) -> datetime:
    moment = _as_datetime(value)
    if moment.tzinfo is None:  # as flask-babel does: naive means UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(clock.LOCAL_TZ)


@lru_cache(maxsize=1024)
def _medium_day_zh(day: date) -> str:
    return babel_dates.format_date(day, "medium", locale="zh_Hans_CN")


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
    i18n.add_language_filters(app, language_filters)


def localized(row: dict, field: str) -> str:
    """Pick `<field>_zh` or `<field>_en` for the reader's language, falling back to
    the other when a department supplied only one."""
    return _localized(row, field, i18n.is_chinese())


def _localized(row: dict, field: str, chinese: bool) -> str:
    first, second = ("zh", "en") if chinese else ("en", "zh")
    return row.get(f"{field}_{first}") or row.get(f"{field}_{second}") or ""


def language_filters(language: i18n.Language) -> dict:
    """The language-dependent filters with the language fixed, for one language's Jinja
    environment (see i18n.environment_for): no locale look-up per call."""
    chinese = language.chinese
    return {
        "date_long": partial(date_long_in, chinese=chinese),
        "datetime_long": partial(_datetime_long, chinese=chinese),
        "localized": partial(_localized, chinese=chinese),
    }
