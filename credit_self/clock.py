"""The one place the app asks for the current time.

All rules (expiry, lockouts, deadlines) go through here, so tests can move time by
setting the app's `NOW` config to a fixed aware datetime instead of patching modules.
"""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

# Dates printed on entries (listed on, expires on) are Chinese calendar days.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    if has_app_context():
        fixed = current_app.config.get("NOW")
        if fixed is not None:
            return fixed
    return datetime.now(timezone.utc)


def today() -> date:
    """Today's date in China Standard Time, which is what list expiry dates mean."""
    return now().astimezone(LOCAL_TZ).date()


def iso_now() -> str:
    """Current UTC time as ISO-8601 text, the storage format for timestamps."""
    return now().isoformat(timespec="seconds")
