"""Tables owned by the corrections capability, as a sqlite-utils Migrations set applied after
the core schema (see credit_self.db.migrate). Never change a shipped migration."""
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("credit_self.corrections")


@migrations()
def m001_corrections(db: Database) -> None:
    # One row per objection or credit-repair application. `due_by` is the date (China
    # time) by which a decision is due; forwarding to the source agency moves it.
    db.table("corrections").create(
        {
            "id": int,
            "reference": str,
            "id_number": str,
            "entry_id": int,
            "kind": str,  # objection | restoration
            "category": str,  # not_me | wrong_facts | fulfilled | expired | other (objections)
            "statement": str,
            "evidence": str,
            "commitment": int,  # restoration: 1 = the credit commitment was given
            "status": str,  # submitted | in_review | forwarded | upheld | rejected | withdrawn
            "filed_at": str,
            "due_by": str,
            "forward_by": str,  # last day to forward to the source agency
            "forwarded_at": str,
            "agency_answer": str,
            "decided_at": str,
            "decided_by": str,
            "decision_action": str,  # withdraw | correct_facts | earlier_expiry | restore
            "decision_note": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"reference", "id_number", "entry_id", "kind", "statement", "status",
                  "filed_at", "due_by", "updated_at"},
        foreign_keys=[("id_number", "residents", "id_number"), ("entry_id", "entries", "id")],
        strict=True,
    )
    db.table("corrections").create_index(["reference"], unique=True)
    db.table("corrections").create_index(["id_number"])
    db.table("corrections").create_index(["entry_id"])
    db.table("corrections").create_index(["status", "due_by"])
    # The timeline: every change of a correction, in order, never edited.
    db.table("correction_events").create(
        {"id": int, "correction_id": int, "at": str, "actor": str, "event": str, "note": str},
        pk="id",
        not_null={"correction_id", "at", "actor", "event"},
        foreign_keys=[("correction_id", "corrections", "id")],
        strict=True,
    )
    db.table("correction_events").create_index(["correction_id"])
    # In-app inbox. Text is rendered in the reader's language from `kind` + `params`;
    # `dedupe_key` makes lazily generated messages (expiry warnings) idempotent.
    db.table("inbox_messages").create(
        {
            "id": int,
            "id_number": str,
            "at": str,
            "kind": str,  # correction_status | entry_changed | entry_expiring
            "correction_id": int,
            "entry_id": int,
            "params": str,  # JSON
            "dedupe_key": str,
            "read_at": str,
        },
        pk="id",
        not_null={"id_number", "at", "kind", "params"},
        foreign_keys=[("id_number", "residents", "id_number")],
        strict=True,
    )
    db.table("inbox_messages").create_index(["id_number", "read_at"])
    db.table("inbox_messages").create_index(["dedupe_key"], unique=True)
    # Which correction caused a change of an entry (null for imports and the seed).
    db.table("entry_history").add_column("correction_id", int)


@migrations()
def m002_drafts(db: Database) -> None:
    # The filing flow's answers between "Continue" and "Send". Kept on the server, not in
    # the session cookie: 4,000 Chinese characters would far exceed a browser's 4 KB
    # cookie limit. One draft per resident; deleted when the correction is sent.
    db.table("correction_drafts").create(
        {"id_number": str, "entry_id": int, "kind": str, "answers": str, "saved_at": str},
        pk="id_number",
        not_null={"entry_id", "kind", "answers", "saved_at"},
        foreign_keys=[("id_number", "residents", "id_number")],
        strict=True,
    )
