"""Transparency data layer: who looked at a record, a resident's full data export, and
the audit log viewer's queries. No Flask here."""
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Connection, inspect

from .. import catalog
from ..db import is_postgresql, rows, sql

PAGE_SIZE = 20
AUDIT_PAGE_SIZE = 50

# Tables never exported as they are: secrets, or handled on their own below.
_NOT_EXPORTED = {"accounts", "audit_log", "one_time_codes", "import_batches", "import_rows",
                 "account_sessions", "alembic_version", "catalog_token"}
_ACCOUNT_FIELDS = ("login", "role", "activated_at", "disabled_at")
STAFF_ROLES = ("pilot_admin", "reviewer", "superadmin")
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


def is_staff_actor(value: object) -> bool:
    return isinstance(value, str) and split_actor(value)[0] in STAFF_ROLES


def describe_actors(conn: Connection, actors: set[str]) -> dict[str, Actor]:
    """Role and office for each actor string; the staff login itself is never returned."""
    logins = {split_actor(a)[1]: a for a in actors if is_staff_actor(a)}
    offices: dict[str, str | None] = {}
    if logins:
        for row in rows(conn, sql("SELECT login, display_name FROM accounts WHERE login IN :logins",
                                  "logins"), logins=list(logins)):
            offices[row["login"]] = row["display_name"]
    described = {}
    for actor in actors:
        role, login = split_actor(actor)
        if role in STAFF_ROLES:
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


# Repeated reads by one office for one reason within this many seconds are one row.
GROUP_WINDOW_SECONDS = 3600
_ACCESS_ROWS = ("SELECT seq, at, actor, action, detail FROM audit_log WHERE subject = :subject "
                "AND actor != :own {after} ORDER BY at DESC, seq DESC LIMIT :limit")
# The cursor is a row of this resident's (another's would leak when it was written).
_CURSOR_AT = "(SELECT at FROM audit_log WHERE seq = :before AND subject = :subject)"
_AFTER_CURSOR = (f"AND (at < {_CURSOR_AT} OR (at = {_CURSOR_AT} AND seq < :before))")


def access_log(conn: Connection, id_number: str, before: int | None = None,
               limit: int = PAGE_SIZE) -> tuple[list[dict], int | None]:
    """Audit rows about this resident by anyone else, newest first (by time, then
    sequence), repeated reads grouped (see group_reads), each naming what it concerns.

    Returns one page of at most `limit` rows and the `before` cursor of the next page
    (the sequence number of the last row read; None at the end).
    """
    statement = _ACCESS_ROWS.format(after=_AFTER_CURSOR if before is not None else "")
    params = {"subject": id_number, "own": f"resident:{id_number}", "limit": limit * 5 + 1}
    if before is not None:
        params["before"] = before
    found = rows(conn, statement, **params)
    more = len(found) > limit * 5
    found = found[:limit * 5]
    actors = describe_actors(conn, {row["actor"] for row in found})
    for row in found:
        row["who"] = actors[row["actor"]]
        row["detail"] = _detail(row["detail"])
    _name_concerns(conn, id_number, found)
    groups = group_reads(found)
    if len(groups) > limit:
        groups, more = groups[:limit], True
    for group in groups:
        del group["actor"]  # never leaves the data layer: it holds the staff login
    return groups, (groups[-1]["last_seq"] if more and groups else None)


def group_reads(found: list[dict]) -> list[dict]:
    """Rows (newest first) with the same actor, action and object within an hour of the
    newest of them become one row with a `count`; `last_seq` is its oldest row's."""
    groups: list[dict] = []
    for row in found:
        key = (row["actor"], row["action"], row["concerns_key"])
        current = groups[-1] if groups else None
        if (current is not None and current["key"] == key and
                (_moment(current["at"]) - _moment(row["at"])).total_seconds()
                <= GROUP_WINDOW_SECONDS):
            current["count"] += 1
            current["last_seq"] = row["seq"]
            current["first_at"] = row["at"]
            continue
        groups.append({**row, "key": key, "count": 1, "last_seq": row["seq"],
                       "first_at": row["at"]})
    for group in groups:
        del group["key"], group["concerns_key"]
    return groups


def _moment(at: str) -> datetime:
    """A stored timestamp (UTC ISO text; naive means UTC) as an aware datetime."""
    moment = datetime.fromisoformat(at)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _name_concerns(conn: Connection, id_number: str, found: list[dict]) -> None:
    """Name what each row concerns: the correction (its reference), the certificate (when
    it was issued), or the imported entry (its list and document number). Read-only
    look-ups by id, scoped to the resident."""
    corrections = {row["detail"].get("correction_id") for row in found} - {None}
    certificates = {row["detail"].get("certificate_id") for row in found} - {None}
    references = {r["id"]: r["reference"] for r in rows(
        conn, sql("SELECT id, reference FROM corrections WHERE id_number = :subject "
                  "AND id IN :ids", "ids"), subject=id_number,
        ids=[i for i in corrections if isinstance(i, int)] or [0])}
    issued = {r["id"]: r["issued_at"] for r in rows(
        conn, sql("SELECT id, issued_at FROM certificates WHERE id_number = :subject "
                  "AND id IN :ids", "ids"), subject=id_number,
        ids=[str(i) for i in certificates] or [""])}
    lists = catalog.current(conn).lists
    for row in found:
        detail = row["detail"]
        concerns = None
        if detail.get("correction") or detail.get("correction_id") in references:
            reference = detail.get("correction") or references[detail["correction_id"]]
            concerns = {"kind": "correction", "reference": reference}
        elif detail.get("certificate_id") in issued:
            concerns = {"kind": "certificate", "issued_at": issued[detail["certificate_id"]]}
        elif detail.get("batch") and detail.get("list") in lists:
            concerns = {"kind": "import", "list": lists[detail["list"]],
                        "document_no": detail.get("document_no")}
        row["concerns"] = concerns
        row["concerns_key"] = json.dumps(concerns, sort_keys=True, default=str)


def _detail(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"note": text}
    return value if isinstance(value, dict) else {"note": value}


# ---------------------------------------------------------------- export


def _select_in(conn: Connection, table: str, column: str, values: list) -> list[dict]:
    found: list[dict] = []
    # Table and column names come from the database's own schema, never from input.
    statement = sql(f'SELECT * FROM "{table}" WHERE "{column}" IN :values', "values")
    for start in range(0, len(values), 500):
        found.extend(rows(conn, statement, values=values[start:start + 500]))
    return found


def export_data(conn: Connection, id_number: str, generated_at: str) -> dict:
    """Everything held about one resident, table by table, and nobody else's rows.

    Tables with an `id_number` column are selected by it; tables without one are
    included through a parent that has it (declared foreign key, or _KNOWN_CHILDREN),
    so tables added by other capabilities are exported without a change here.
    """
    schema = inspect(conn)
    tables = sorted(schema.get_table_names())
    data: dict[str, list[dict]] = {}
    data["residents"] = rows(conn, "SELECT * FROM residents WHERE id_number = :id_number",
                             id_number=id_number)
    data["accounts"] = [
        {field: row[field] for field in _ACCOUNT_FIELDS}
        for row in rows(conn, "SELECT * FROM accounts WHERE id_number = :id_number",
                        id_number=id_number)
    ]
    owned: dict[str, list[dict]] = {}
    for table in tables:
        if table in _NOT_EXPORTED or table == "residents":
            continue
        columns = [column["name"] for column in schema.get_columns(table)]
        if "id_number" in columns:
            order = ", ".join(f'"{name}"' for name in
                              schema.get_pk_constraint(table)["constrained_columns"] or columns[:1])
            owned[table] = rows(conn, f'SELECT * FROM "{table}" WHERE id_number = :id_number '
                                      f"ORDER BY {order}", id_number=id_number)
    data.update(owned)
    for table in tables:
        if table in _NOT_EXPORTED or table in data:
            continue
        links = [
            (fk["constrained_columns"][0], fk["referred_table"], fk["referred_columns"][0])
            for fk in schema.get_foreign_keys(table)
            if fk["referred_table"] in owned and len(fk["constrained_columns"]) == 1
        ]
        if not links and table in _KNOWN_CHILDREN and _KNOWN_CHILDREN[table][1] in owned:
            links = [_KNOWN_CHILDREN[table]]
        found: dict[tuple, dict] = {}
        for column, parent, parent_column in links:
            keys = sorted({row[parent_column] for row in owned[parent]
                           if row.get(parent_column) is not None})
            for row in _select_in(conn, table, column, keys):
                found[tuple(sorted(row.items(), key=lambda item: item[0]))] = row
        if links:
            data[table] = list(found.values())
    _without_staff_logins(conn, data)
    log, _ = access_log(conn, id_number, limit=10_000_000)
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


def _names_actor(column: str) -> bool:
    """Columns that record who acted: `actor`, `decided_by` and the like."""
    return column == "actor" or column.endswith("_by")


def _without_staff_logins(conn: Connection, data: dict[str, list[dict]]) -> None:
    """Where a staff member acted, the column gives their role and `<column>_office`
    their office (as "Who looked" does), never their login. Other capabilities' tables
    are covered by the column names alone."""
    staff = {value for table_rows in data.values() for row in table_rows
             for column, value in row.items() if _names_actor(column) and is_staff_actor(value)}
    if not staff:
        return
    described = describe_actors(conn, staff)
    for table_rows in data.values():
        for row in table_rows:
            for column in [c for c in row if _names_actor(c) and row[c] in staff]:
                who = described[row[column]]
                row[column], row[f"{column}_office"] = who.role, who.office


def export_json(export: dict) -> bytes:
    return json.dumps(export, ensure_ascii=False, indent=2).encode("utf-8")


# ---------------------------------------------------------------- audit viewer


def audit_actions(conn: Connection) -> list[str]:
    """Every action in the log, read by stepping through its index (one look-up per
    action), so the cost does not grow with the number of rows."""
    return [row["action"] for row in rows(conn, """
        WITH RECURSIVE actions(action) AS (
            SELECT MIN(action) FROM audit_log
            UNION ALL
            SELECT (SELECT MIN(a.action) FROM audit_log a WHERE a.action > actions.action)
            FROM actions WHERE actions.action IS NOT NULL
        )
        SELECT action FROM actions WHERE action IS NOT NULL""")]


def audit_page(
    conn: Connection,
    actor: str = "",
    action: str = "",
    subject: str = "",
    date_from: str = "",
    date_to: str = "",
    before: int | None = None,
    limit: int = AUDIT_PAGE_SIZE,
) -> tuple[list[dict], int | None]:
    """Filtered audit rows, newest first; actor matches part of the actor text."""
    clauses, params = [], {}
    if actor:
        # Case-sensitive substring on both engines (LIKE is not, on SQLite).
        clauses.append("strpos(actor, :actor) > 0" if is_postgresql(conn) else "instr(actor, :actor) > 0")
        params["actor"] = actor
    if action:
        clauses.append("action = :action")
        params["action"] = action
    if subject:
        clauses.append("subject = :subject")
        params["subject"] = subject
    if date_from:
        clauses.append("at >= :date_from")
        params["date_from"] = date_from
    # 9999-12-31 has no next day, and needs no upper bound.
    if date_to and date.fromisoformat(date_to) < date.max:
        # Timestamps are ISO text: every moment of the last day sorts before the next day.
        clauses.append("at < :date_after")
        params["date_after"] = (date.fromisoformat(date_to) + timedelta(days=1)).isoformat()
    if before is not None:
        clauses.append("seq < :before")
        params["before"] = before
    # The clauses are fixed strings chosen above; values are parameters.
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    found = rows(conn, f"SELECT * FROM audit_log {where} ORDER BY seq DESC LIMIT :limit",
                 **params, limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    return found, (found[-1]["seq"] if more and found else None)
