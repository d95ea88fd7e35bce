"""Demo rows for the personas: `pilot_member` opted in to the Rongcheng pilot 395 days
ago and has eight score events over the past year."""
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Connection

from . import data

# Reasons and sources in Chinese, as the Rongcheng authorities write them.
MEMBER_EVENTS = [  # (days ago, event type, reason)
    (350, "volunteer_service", "参加天鹅湖生态保护志愿服务20小时"),
    (301, "traffic_ticket", "在成山大道超速行驶（电子监控记录）"),
    (260, "blood_donation", "在荣成献血站无偿献血"),
    (214, "volunteer_service", "参加社区养老志愿服务队服务20小时"),
    (161, "heroic_act", "在石岛湾救起落水者，被确认为见义勇为"),
    (97, "traffic_ticket", "在石岛路口闯红灯"),
    (53, "charitable_donation", "向荣成市慈善总会冬季供暖基金捐款"),
    (12, "volunteer_service", "在校门口参加交通安全志愿服务20小时"),
]
SOURCES = {
    "volunteer_service": "荣成市志愿者联合会",
    "traffic_ticket": "荣成市公安局交通警察大队",
    "blood_donation": "威海市中心血站",
    "heroic_act": "荣成市见义勇为评定委员会",
    "charitable_donation": "荣成市慈善总会",
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
