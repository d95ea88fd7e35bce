"""Transparency data layer: who looked at a record, a resident's full data export, and
the audit log viewer's queries. No Flask here."""
import csv
import io
import json
import zipfile
from dataclasses import dataclass

from sqlite_utils import Database

from ..certificates import scan_log

PAGE_SIZE = 20
AUDIT_PAGE_SIZE = 50

# Tables never exported as they are: secrets, or handled on their own below.
_NOT_EXPORTED = {"accounts", "audit_log", "login_throttle", "import_batches", "import_rows"}
_ACCOUNT_FIELDS = ("login", "role", "activated_at", "disabled_at")
# Child tables reached through a parent that holds id_number, when the other capability
# did not declare a foreign key: table -> (column, parent table, parent column).
_KNOWN_CHILDREN = {
    "certificate_scans": ("certificate_id", "certificates", "id"),
    "entry_history": ("entry_id", "entries", "id"),
}


# ---------------------------------------------------------------- actors


@dataclass(frozen=True)
class Actor:
    kind: str  # "staff", "anonymous", "system", "resident", "other"
    role: str | None  # staff role or resident
    office: str | None  # accounts.display_name: the office, never a clerk's login


def split_actor(actor: str) -> tuple[str, str]:
    role, _, login = actor.partition(":")
    return role, login


def describe_actors(db: Database, actors: set[str]) -> dict[str, Actor]:
    """Role and office for each actor string; the staff login itself is never returned."""
    logins = {split_actor(a)[1]: a for a in actors if split_actor(a)[0] in ("pilot_admin", "reviewer", "superadmin")}
    offices: dict[str, str | None] = {}
    if logins:
        marks = ",".join("?" * len(logins))
        for login, display_name in db.execute(
            f"SELECT login, display_name FROM accounts WHERE login IN ({marks})", list(logins)
        ):
            offices[login] = display_name
    described = {}
    for actor in actors:
        role, login = split_actor(actor)
        if role in ("pilot_admin", "reviewer", "superadmin"):
            office = offices.get(login)
            # An office that is only the login (no display name given) is not shown.
            described[actor] = Actor("staff", role, office if office and office != login else None)
        elif role == "anonymous":
            described[actor] = Actor("anonymous", None, None)
        elif role in ("system", "source"):
            described[actor] = Actor("system", None, None)
        elif role == "resident":
            described[actor] = Actor("resident", "resident", None)
        else:
            described[actor] = Actor("other", None, None)
    return described


# ---------------------------------------------------------------- access log


def access_log(db: Database, id_number: str, before: int | None = None, limit: int = PAGE_SIZE) -> tuple[list[dict], int | None]:
    """Audit rows about this resident by anyone else, newest first.

    Returns one page and the `before` cursor of the next page (None at the end).
    """
    scan_log.fold_all(db)  # certificate scans still in a journal are reads of the record
    params: list = [id_number, f"resident:{id_number}"]
    sql = "SELECT seq, at, actor, action, detail FROM audit_log WHERE subject = ? AND actor != ?"
    if before is not None:
        sql += " AND seq < ?"
        params.append(before)
    sql += " ORDER BY seq DESC LIMIT ?"
    params.append(limit + 1)
    rows = list(db.query(sql, params))
    more = len(rows) > limit
    rows = rows[:limit]
    actors = describe_actors(db, {row["actor"] for row in rows})
    for row in rows:
        row["who"] = actors[row["actor"]]
        del row["actor"]  # never leaves the data layer: it holds the staff login
        row["detail"] = _detail(row["detail"])
    return rows, (rows[-1]["seq"] if more and rows else None)


def _detail(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"note": text}
    return value if isinstance(value, dict) else {"note": value}


# ---------------------------------------------------------------- export


def _columns(db: Database, table: str) -> list[str]:
    return [column.name for column in db.table(table).columns]


def _select_in(db: Database, table: str, column: str, values: list) -> list[dict]:
    rows: list[dict] = []
    for start in range(0, len(values), 500):
        chunk = values[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows.extend(db.query(f"SELECT * FROM [{table}] WHERE [{column}] IN ({marks})", chunk))
    return rows


def export_data(db: Database, id_number: str, generated_at: str) -> dict:
    """Everything held about one resident, table by table, and nobody else's rows.

    Tables with an `id_number` column are selected by it; tables without one are
    included through a parent that has it (declared foreign key, or _KNOWN_CHILDREN),
    so tables added by other capabilities are exported without a change here.
    """
    scan_log.fold_all(db)
    tables = db.table_names()
    data: dict[str, list[dict]] = {}
    resident = list(db.query("SELECT * FROM residents WHERE id_number = ?", [id_number]))
    data["residents"] = resident
    data["accounts"] = [
        {field: row[field] for field in _ACCOUNT_FIELDS}
        for row in db.query("SELECT * FROM accounts WHERE id_number = ?", [id_number])
    ]
    owned: dict[str, list[dict]] = {}
    for table in tables:
        if table in _NOT_EXPORTED or table == "residents" or table.startswith("_"):
            continue
        if "id_number" in _columns(db, table):
            owned[table] = list(
                db.query(f"SELECT * FROM [{table}] WHERE id_number = ? ORDER BY rowid", [id_number])
            )
    data.update(owned)
    for table in tables:
        if table in _NOT_EXPORTED or table in data or table.startswith("_"):
            continue
        links = [
            (fk.column, fk.other_table, fk.other_column)
            for fk in db.table(table).foreign_keys
            if fk.other_table in owned
        ]
        if not links and table in _KNOWN_CHILDREN and _KNOWN_CHILDREN[table][1] in owned:
            links = [_KNOWN_CHILDREN[table]]
        rows: dict[tuple, dict] = {}
        for column, parent, parent_column in links:
            keys = sorted({row[parent_column] for row in owned[parent] if row.get(parent_column) is not None})
            for row in _select_in(db, table, column, keys):
                rows[tuple(sorted(row.items(), key=lambda item: item[0]))] = row
        if links:
            data[table] = list(rows.values())
    log, _ = access_log(db, id_number, limit=10_000_000)
    data["access_log"] = [
        {
            "at": row["at"],
            "role": row["who"].role,
            "office": row["who"].office,
            "kind": row["who"].kind,
            "action": row["action"],
        }
        for row in log
    ]
    return {"generated_at": generated_at, "id_number": id_number, "tables": data}


def export_json(export: dict) -> bytes:
    return json.dumps(export, ensure_ascii=False, indent=2).encode("utf-8")


def export_zip(export: dict) -> bytes:
    """One CSV per table (UTF-8 with BOM so spreadsheet apps read Chinese), zipped."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "README.txt",
            f"Credit Self-Check data export\nid_number: {export['id_number']}\n"
            f"generated_at: {export['generated_at']}\n",
        )
        for table, rows in export["tables"].items():
            out = io.StringIO()
            out.write("\ufeff")
            headers: list[str] = []
            for row in rows:
                headers.extend(k for k in row if k not in headers)
            writer = csv.writer(out)
            writer.writerow(["generated_at", *headers])
            for row in rows:
                writer.writerow([export["generated_at"], *(row.get(h) for h in headers)])
            archive.writestr(f"{table}.csv", out.getvalue())
    return buffer.getvalue()


# ---------------------------------------------------------------- audit viewer


def audit_actions(db: Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT DISTINCT action FROM audit_log ORDER BY action")]


def audit_page(
    db: Database,
    actor: str = "",
    action: str = "",
    subject: str = "",
    date_from: str = "",
    date_to: str = "",
    before: int | None = None,
    limit: int = AUDIT_PAGE_SIZE,
) -> tuple[list[dict], int | None]:
    """Filtered audit rows, newest first; actor matches part of the actor text."""
    scan_log.fold_all(db)
    clauses, params = [], []
    if actor:
        clauses.append("instr(actor, ?) > 0")
        params.append(actor)
    if action:
        clauses.append("action = ?")
        params.append(action)
    if subject:
        clauses.append("subject = ?")
        params.append(subject)
    if date_from:
        clauses.append("substr(at, 1, 10) >= ?")
        params.append(date_from)
    if date_to:
        clauses.append("substr(at, 1, 10) <= ?")
        params.append(date_to)
    if before is not None:
        clauses.append("seq < ?")
        params.append(before)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = list(
        db.query(f"SELECT * FROM audit_log {where} ORDER BY seq DESC LIMIT ?", [*params, limit + 1])
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["seq"] if more and rows else None)
