"""Tables owned by the pilots capability, as a sqlite-utils Migrations set applied after
the core schema (see credit_self.db.migrate). Never change a shipped migration."""
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("credit_self.pilots")


@migrations()
def m001_pilot_status_history(db: Database) -> None:
    """Every pause/resume/close with who, when and why; closed_at/purged_at on pilots
    drive the erasure of score events after the retention period."""
    db.table("pilot_status_history").create(
        {
            "id": int,
            "pilot_code": str,
            "old_status": str,
            "new_status": str,
            "at": str,
            "actor": str,
            "reason": str,
        },
        pk="id",
        not_null={"pilot_code", "old_status", "new_status", "at", "actor", "reason"},
        foreign_keys=[("pilot_code", "pilots", "code")],
        strict=True,
    )
    db.table("pilot_status_history").create_index(["pilot_code"])
    pilots = db.table("pilots")
    if "closed_at" not in pilots.columns_dict:
        pilots.add_column("closed_at", str)
    if "purged_at" not in pilots.columns_dict:
        pilots.add_column("purged_at", str)
    # Figures for the admin console: enrolled / opted out counts, events this month.
    db.table("enrolments").create_index(["pilot_code", "state"], if_not_exists=True)
    db.table("score_events").create_index(["pilot_code", "recorded_at"], if_not_exists=True)
