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
    statement = (
        "This entry is not about me. The court recorded a woman born in 1982 in Minhang "
        "(310112); I am a man born in 1993 in Pudong and have never been a party to this case."
    )
    data.file_correction(
        conn, id_number, entry_id, data.OBJECTION, "not_me", statement,
        "Resident ID card; household register extract of 3 March 2025", False,
        datetime.combine(filed_on, time(2, 30), tzinfo=timezone.utc), filed_on,
        f"resident:{id_number}",
    )
    return {"corrections": 1}
