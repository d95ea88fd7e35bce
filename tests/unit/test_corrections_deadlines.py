"""Working-day arithmetic for correction deadlines (weekends, holidays, adjusted workdays)."""
from datetime import date

import pytest

from credit_self.corrections.data import add_working_days, calendar, is_working_day
from credit_self.db import make_engine


@pytest.fixture(scope="module")
def days(databases):
    """The official calendar as the seed loads it, read once for the module."""
    url = databases.new()
    engine = make_engine(url)
    with engine.connect() as conn:
        found = calendar(conn)
    engine.dispose()
    databases.drop(url)
    return found


@pytest.mark.parametrize("start, count, expected", [
    (date(2026, 11, 16), 5, date(2026, 11, 23)),  # Monday + 5 = next Monday
    (date(2026, 11, 20), 5, date(2026, 11, 27)),  # Friday: the weekend is skipped
    (date(2026, 11, 21), 1, date(2026, 11, 23)),  # filed on Saturday: Monday is day 1
    (date(2026, 11, 20), 2, date(2026, 11, 24)),  # forwarding limit from a Friday
    (date(2026, 9, 30), 5, date(2026, 10, 13)),  # National Day week off, Saturday 10 Oct worked
    (date(2026, 2, 13), 1, date(2026, 2, 14)),  # Saturday made a working day before Spring Festival
    (date(2026, 2, 13), 3, date(2026, 2, 25)),  # then the whole Spring Festival is skipped
    (date(2025, 12, 31), 1, date(2026, 1, 4)),  # New Year 1-3 Jan off, Sunday 4 Jan worked
])
def test_add_working_days_skips_weekends_and_holidays(days, start, count, expected):
    assert add_working_days(start, count, days) == expected


def test_plain_calendar_without_holidays():
    assert add_working_days(date(2026, 10, 1), 5, {}) == date(2026, 10, 8)
    assert not is_working_day(date(2026, 10, 3), {})
    assert is_working_day(date(2026, 10, 10), {"2026-10-10": "workday"})
    assert not is_working_day(date(2026, 10, 1), {"2026-10-01": "holiday"})
