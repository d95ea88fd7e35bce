"""Demo rows for the personas: persona `clean` holds a valid 7-day rental certificate
that a landlord has already checked twice (once in time, once from an old screenshot)."""
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Connection

from ..clock import LOCAL_TZ
from ..db import write_transaction
from . import store


def add_demo_data(conn: Connection, today: date, personas: dict[str, str]) -> dict[str, int]:
    """`personas` maps persona names to ID numbers."""
    # Midnight China time on the seed's day: older than anything made while using it.
    issued = datetime.combine(today, time(0, 0), tzinfo=LOCAL_TZ).astimezone(timezone.utc)
    holder = personas["clean"]
    with write_transaction(conn):
        certificate = store.create(conn, holder, "rental", "王先生（房东）", issued,
                                   timedelta(days=7))
    scans = [
        (issued + timedelta(minutes=10), store.VALID, "WeChat"),
        (issued + timedelta(hours=3), store.EXPIRED, "Safari"),
    ]
    for at, verdict, family in scans:
        store.log_scan(conn, certificate["id"], holder, at.isoformat(timespec="seconds"), verdict,
                       family)
    return {"certificates": 1, "certificate_scans": len(scans)}
