"""Demo rows for the personas: `pilot_member` opted in to the Rongcheng pilot 395 days
ago and has eight score events over the past year."""
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Connection

from . import data

MEMBER_EVENTS = [  # (days ago, event type, reason)
    (350, "volunteer_service", "20 hours with the Swan Lake conservation volunteers"),
    (301, "traffic_ticket", "Speeding on Chengshan Avenue (camera record)"),
    (260, "blood_donation", "Voluntary blood donation at the Rongcheng blood donation station"),
    (214, "volunteer_service", "20 hours with the community elderly-care volunteer team"),
    (161, "heroic_act", "Rescued a swimmer off Shidao Bay; recognised as an act of bravery"),
    (97, "traffic_ticket", "Ran a red light at the Shidao Road junction"),
    (53, "charitable_donation", "Donation to the Rongcheng Charity Federation's winter heating fund"),
    (12, "volunteer_service", "20 hours of traffic-safety volunteering at school gates"),
]
SOURCES = {
    "volunteer_service": "Rongcheng Volunteer Federation",
    "traffic_ticket": "Rongcheng Public Security Traffic Police Brigade",
    "blood_donation": "Weihai Central Blood Station",
    "heroic_act": "Rongcheng Committee for Rewarding Acts of Bravery",
    "charitable_donation": "Rongcheng Charity Federation",
}


def _at(day: date, hour: int, minute: int) -> str:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.utc).isoformat()


def add_demo_data(conn: Connection, today: date, personas: dict[str, str]) -> dict[str, int]:
    member = personas["pilot_member"]
    pilot = data.get_pilot(conn, "rongcheng")
    data.opt_in(conn, pilot, member, f"resident:{member}", _at(today - timedelta(days=395), 2, 15))
    for days, event_type, reason in MEMBER_EVENTS:
        occurred = today - timedelta(days=days)
        data.record_event(conn, pilot, member, event_type, occurred, reason, SOURCES[event_type],
                          "system:seed", _at(today - timedelta(days=max(0, days - 2)), 3, 10))
    return {"pilot_members": 1, "score_events": len(MEMBER_EVENTS)}
