"""Tables owned by the transparency capability, as a sqlite-utils Migrations set applied after
the core schema (see credit_self.db.migrate). Never change a shipped migration."""
from sqlite_utils import Database  # noqa: F401
from sqlite_utils.migrations import Migrations

migrations = Migrations("credit_self.transparency")


@migrations()
def m001_import_batches(db: Database) -> None:
    # One uploaded (or CLI) list feed. The id is random and unguessable: the validation
    # result page is addressed by it and the rows stay on the server, never in a cookie.
    db.table("import_batches").create(
        {
            "id": str,
            "list_code": str,
            "filename": str,
            "created_at": str,
            "created_by": str,
            "total_rows": int,
            "valid_rows": int,
            "status": str,  # validated, imported
            "imported_at": str,
            "imported_by": str,
            "inserted": int,
            "updated": int,
            "unchanged": int,
            "skipped": int,
        },
        pk="id",
        not_null={"list_code", "created_at", "created_by", "total_rows", "valid_rows", "status"},
        strict=True,
    )
    db.table("import_rows").create(
        {
            "batch_id": str,
            "row_no": int,
            "data": str,  # the CSV row as JSON
            "errors": str,  # JSON list of rejection codes; empty list = valid
        },
        pk=("batch_id", "row_no"),
        not_null={"data", "errors"},
        foreign_keys=[("batch_id", "import_batches", "id")],
        strict=True,
    )
