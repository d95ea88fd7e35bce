"""Demo rows for the personas: the same-name mix-up (张伟) filed an objection yesterday."""
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Connection

from ..db import scalar
from . import data


def add_demo_data(conn: Connection, today: date, personas: dict[str, str]) -> dict[str, int]:
    id_number = personas["mixup"]
    entry_id = scalar(conn, "SELECT id FROM entries WHERE id_number = :id_number "
                            "AND list_code = 'judgment_defaulter'", id_number=id_number)
    if entry_id is None:
        return {"corrections": 0}
    filed_on = today - timedelta(days=1)
    # In the resident's own words (Chinese).
    statement = (
        "这条记录不是关于我的。法院记录的是一名1982年出生于闵行区（310112）的女性；"
        "我是1993年出生于浦东新区的男性，从未参与过这个案件。"
    )
    data.file_correction(
        conn, id_number, entry_id, data.OBJECTION, "not_me", statement,
        "居民身份证；2025年3月3日的户籍信息摘录", False,
        datetime.combine(filed_on, time(2, 30), tzinfo=timezone.utc), filed_on,
        f"resident:{id_number}",
    )
    return {"corrections": 1}
