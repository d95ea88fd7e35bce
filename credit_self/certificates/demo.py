"""Demo rows for the personas: persona `clean` holds a valid 7-day rental certificate
that a landlord has already checked twice (once in time, once from an old screenshot)."""
from datetime import date, datetime, time, timedelta, timezone

from sqlite_utils import Database

from ..clock import LOCAL_TZ
from ..identity import with_check_digit
from . import scan_log, store

CLEAN_ID = with_check_digit("31010419900315902")  # seeding.PERSONAS "clean"


def add_demo_data(db: Database, today: date) -> dict[str, int]:
    # Midnight China time on the seed's day: older than anything made while using it.
    issued = datetime.combine(today, time(0, 0), tzinfo=LOCAL_TZ).astimezone(timezone.utc)
    certificate = store.create(db, CLEAN_ID, "rental", "王先生（房东）", issued, 7)
    scans = [
        (issued + timedelta(minutes=10), store.VALID, "WeChat"),
        (issued + timedelta(hours=3), store.EXPIRED, "Safari"),
    ]
    for at, verdict, family in scans:
        scan_log.store_scan(db, certificate["id"], at.isoformat(timespec="seconds"), verdict, family)
    return {"certificates": 1, "certificate_scans": len(scans)}
