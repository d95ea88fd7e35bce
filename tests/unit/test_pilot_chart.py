"""The score-over-time chart: a step line from the base score through every event."""
from datetime import date

from credit_self.pilots.data import chart_points

PILOT = {"base_score": 1000}


def test_the_line_steps_through_each_event_and_holds_until_today():
    ledger = [{"occurred_on": "2026-01-11", "running_total": 1005},
              {"occurred_on": "2026-01-21", "running_total": 995}]
    chart = chart_points(PILOT, ledger, date(2026, 1, 31))
    # From the day before the first event (base score) to today: x spans 40..280 over
    # 21 days (1/21 and 11/21 of the way for the events), y spans 20 (highest, 1005) to
    # 110 (lowest, 995), the base score half-way.
    assert chart["points"] == ("40.0,65.0 51.4,65.0 51.4,20.0 165.7,20.0 "
                               "165.7,110.0 280.0,110.0 280.0,110.0")
    assert chart["dots"] == [("51.4", "20.0"), ("165.7", "110.0")]
    assert (chart["min"], chart["max"]) == (995, 1005)
    assert (chart["first"], chart["last"]) == (date(2026, 1, 10), date(2026, 1, 31))


def test_no_events_draw_no_line():
    chart = chart_points(PILOT, [], date(2026, 1, 31))
    assert chart["points"] == "" and chart["dots"] == []
    assert chart["min"] == chart["max"] == 1000
