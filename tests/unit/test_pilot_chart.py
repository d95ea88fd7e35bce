"""The score-over-time chart: a step line from the base score through every event."""
from datetime import date

from credit_self.pilots.data import chart_points

PILOT = {"base_score": 1000}


def test_the_line_steps_through_each_event_and_holds_until_today():
    ledger = [{"occurred_on": "2026-01-11", "running_total": 1005},
              {"occurred_on": "2026-01-21", "running_total": 995}]
    chart = chart_points(PILOT, ledger, date(2026, 1, 31))
    # From the day before the first event (base score) to today: x spans 24..296 over
    # 21 days, y spans 12 (highest, 1005) to 96 (lowest, 995).
    assert chart["points"] == ("24.0,54.0 37.0,54.0 37.0,12.0 166.5,12.0 "
                               "166.5,96.0 296.0,96.0 296.0,96.0")
    assert chart["dots"] == [("37.0", "12.0"), ("166.5", "96.0")]
    assert (chart["min"], chart["max"]) == (995, 1005)
    assert (chart["first"], chart["last"]) == (date(2026, 1, 10), date(2026, 1, 31))


def test_no_events_draw_no_line():
    chart = chart_points(PILOT, [], date(2026, 1, 31))
    assert chart["points"] == "" and chart["dots"] == []
    assert chart["min"] == chart["max"] == 1000
