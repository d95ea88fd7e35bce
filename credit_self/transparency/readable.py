"""The export made for people and their tools: each table with columns labelled in the
reader's language, times in China Standard Time, codes given as words, and no internal
columns (keys for de-duplication, JSON parameters). The CSV zip and the SQLite file are
both written from these tables.

Words for other capabilities' codes are read from the template globals they register
(their one public place for them), so a capability that is absent leaves its codes as
they are instead of breaking the export.
"""
import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Connection
from sqlite_utils import Database

from .. import i18n
from ..clock import LOCAL_TZ
from ..csv_export import write_csv
from ..db import rows
from ..formatters import localized, sex_word
from ..records import entries as record_entries
from ..records import labels as record_labels
from ..records import rules as record_rules

# Every moment is written like this, in China Standard Time (the headers say so).
MOMENT_FORMAT = "%Y-%m-%d %H:%M:%S"
# Columns no person needs, whatever table they are in.
INTERNAL_COLUMNS = {"dedupe_key", "params", "id_number", "status_list", "status_index",
                    "answers"}


@dataclass(frozen=True)
class Column:
    key: str  # the column's name in the SQLite file: stable, for tools
    label: object  # its header in the CSV file and its description in README (lazy text)
    value: Callable[[dict], object]


@dataclass(frozen=True)
class Table:
    key: str  # file and table name
    title: object  # what it holds, in words (lazy text)
    columns: list[Column]
    rows: list[dict]

    def header(self) -> list[str]:
        return [str(column.label) for column in self.columns]

    def values(self) -> list[list]:
        return [[column.value(row) for column in self.columns] for row in self.rows]

    def records(self) -> list[dict]:
        return [{column.key: column.value(row) for column in self.columns} for row in self.rows]


def china_time(value) -> str | None:
    """A stored timestamp (UTC ISO text; naive means UTC) as China Standard Time."""
    if not value:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(LOCAL_TZ).strftime(MOMENT_FORMAT)


def _words(global_name: str, code) -> str:
    """The words another capability registered for one of its codes, or the code."""
    if code is None or code == "":
        return ""
    known = current_app.jinja_env.globals.get(global_name)
    if known is None:
        return str(code)
    if hasattr(known, "label"):
        return str(known.label(code))
    found = known.get(code) if isinstance(known, dict) else None
    if found is None:
        return str(code)
    return _(found.words) if hasattr(found, "words") else str(found)


def _yes_no(value) -> str:
    if value is None:
        return ""
    return _("Yes") if value else _("No")


def _field(name: str) -> Callable[[dict], object]:
    return lambda row: row.get(name)


def _time(name: str) -> Callable[[dict], object]:
    return lambda row: china_time(row.get(name))


def _localized(name: str) -> Callable[[dict], object]:
    return lambda row: localized(row, name)


def _who(name: str) -> Callable[[dict], object]:
    """Who acted, in words: a staff role, the resident, or a department (by name)."""
    def words(row: dict) -> str:
        value = row.get(name)
        if not value:
            return ""
        if value in ROLE_WORDS:
            return str(ROLE_WORDS[value])
        role, _sep, rest = str(value).partition(":")
        if role == "resident":
            return _("You") if rest in ("", row.get("_resident")) else str(ROLE_WORDS["resident"])
        if role in ("source", "system"):
            return rest if role == "source" and rest else _("The system")
        return str(ACCESS_KINDS["anonymous" if role == "anonymous" else "other"])
    return words


ROLE_WORDS = {
    "pilot_admin": _l("Pilot administrator"),
    "reviewer": _l("Correction reviewer"),
    "superadmin": _l("Superadmin"),
    "resident": _l("Another resident"),
}
TIERS = {"serious": _l("Serious"), "general": _l("General"), "minor": _l("Minor")}
SCAN_VERDICTS = {"valid": _l("Valid"), "expired": _l("Expired"), "not_valid": _l("Not valid"),
                 "unavailable": _l("Cannot confirm")}
INBOX_KINDS = {
    "correction_status": _l("About a correction"),
    "notice": _l("Notice before an entry takes effect"),
    "entry_added": _l("An entry was added"),
    "entry_changed": _l("An entry changed"),
    "entry_expiring": _l("An entry ends soon"),
    "entry_ended": _l("An entry ended"),
}
ACCESS_KINDS = {"staff": _l("Staff"), "anonymous": _l("Without an account"),
                "system": _l("System or department"), "resident": _l("Another resident"),
                "other": _l("Someone else")}


def _mapped(words: dict, name: str) -> Callable[[dict], object]:
    return lambda row: str(words[row[name]]) if row.get(name) in words else row.get(name)


def _history_value(name: str) -> Callable[[dict], object]:
    """Old and new values of a history row; a status as a word."""
    def value(row: dict):
        found = row.get(name)
        if row.get("field") == "status" and found in record_labels.ENTRY_STATUS_WORDS:
            return _(record_labels.ENTRY_STATUS_WORDS[found])
        return found
    return value


def _history_field(row: dict) -> str:
    field = row.get("field")
    return _(record_labels.HISTORY_FIELDS[field]) if field in record_labels.HISTORY_FIELDS else field


def _tag(tags: dict, code) -> str:
    """A status tag's words in the reader's language; an unknown code as it is."""
    return _(tags[code].words) if code in tags else (code or "")


def _entry_state(row: dict) -> str:
    return _tag(record_labels.ENTRY_STATES, record_rules.entry_state(row, row["_today"]))


def _list_of(texts: list[str]) -> str:
    return ("；" if i18n.is_chinese() else "; ").join(texts)


def _statements(row: dict) -> str:
    return _list_of([_words("certificate_statements", code)
                     for code in (row.get("statements") or "").split()])


def _entry_sanctions(row: dict) -> str:
    return _list_of([localized(s, "description") for s in row.get("_sanctions", [])])


# Tables in the order people read them, with their columns (key, label, value).
def _specs() -> dict[str, tuple[str, object, list[Column]]]:
    """source table -> (table key, title, columns)."""
    c = Column
    return {
        "residents": ("register_details", _l("Your details in the population register"), [
            c("name", _l("Name"), _field("name")),
            c("id_number", _l("ID number"), _field("id_number")),
            c("birth_date", _l("Date of birth"), _field("birth_date")),
            c("sex", _l("Sex"), lambda r: sex_word(r.get("sex"))),
            c("district", _l("District"),
              lambda r: record_labels.identifier_words("region_code", r.get("region_code"))),
            c("phone", _l("Mobile number"), _field("phone")),
        ]),
        "accounts": ("account", _l("Your account"), [
            c("login", _l("Sign-in name"), _field("login")),
            c("activated_at", _l("Activated (China time)"), _time("activated_at")),
            c("disabled_at", _l("Disabled (China time)"), _time("disabled_at")),
        ]),
        "entries": ("entries", _l("Your list entries"), [
            c("entry_number", _l("Entry number"), _field("id")),
            c("list", _l("List"), _localized("list_name")),
            c("kind", _l("Kind of list"), lambda r: _tag(record_labels.ENTRY_KINDS, r.get("kind"))),
            c("kept_by", _l("Kept by"), _localized("authority")),
            c("legal_basis", _l("Legal basis"), _localized("legal_basis")),
            c("recorded_by", _l("Recorded by"), _localized("source_agency")),
            c("document_number", _l("Document number"), _field("document_no")),
            c("what_was_recorded", _l("What was recorded"), _localized("facts")),
            c("state", _l("State"), _entry_state),
            c("listed_on", _l("Listed on"), _field("listed_on")),
            c("takes_effect_on", _l("Takes effect on"),
              lambda r: record_rules.takes_effect_on(r).isoformat()),
            c("ends_on", _l("Ends on"), _field("expires_on")),
            c("sanctions", _l("Restrictions it brings"), _entry_sanctions),
            c("tier", _l("Publication tier"), _mapped(TIERS, "tier")),
            c("recorded_name", _l("Name recorded"), _field("recorded_name")),
            c("recorded_sex", _l("Sex recorded"), lambda r: sex_word(r.get("recorded_sex"))),
            c("recorded_birth_year", _l("Year of birth recorded"), _field("recorded_birth_year")),
            c("recorded_district", _l("District recorded"),
              lambda r: record_labels.identifier_words("region_code", r.get("recorded_region_code"))
              if r.get("recorded_region_code") else ""),
            c("updated_at", _l("Last changed (China time)"), _time("updated_at")),
        ]),
        "entry_sanctions": ("entry_sanctions", _l("Restrictions each entry brings"), [
            c("entry_number", _l("Entry number"), _field("entry_id")),
            c("list", _l("List"), _field("list")),
            c("restriction", _l("Restriction"), _localized("description")),
            c("legal_basis", _l("Legal basis"), _localized("legal_basis")),
        ]),
        "entry_history": ("entry_changes", _l("Changes to your entries"), [
            c("entry_number", _l("Entry number"), _field("entry_id")),
            c("at", _l("When (China time)"), _time("at")),
            c("by", _l("By"), _who("actor")),
            c("by_office", _l("Office"), _field("actor_office")),
            c("what_changed", _l("What changed"), _history_field),
            c("old_value", _l("Before"), _history_value("old_value")),
            c("new_value", _l("After"), _history_value("new_value")),
            c("reason", _l("Reason"), _field("reason")),
            c("correction", _l("Correction"), _field("_reference")),
        ]),
        "corrections": ("corrections", _l("Your corrections and credit repair applications"), [
            c("reference", _l("Reference"), _field("reference")),
            c("entry_number", _l("Entry number"), _field("entry_id")),
            c("kind", _l("Kind"), lambda r: _words("correction_kinds", r.get("kind"))),
            c("reason", _l("Reason"), lambda r: _words("correction_categories", r.get("category"))),
            c("statement", _l("Your statement"), _field("statement")),
            c("evidence", _l("Evidence"), _field("evidence")),
            c("commitment", _l("Credit commitment given"), lambda r: _yes_no(r.get("commitment"))
              if r.get("kind") == "restoration" else ""),
            c("status", _l("Status"), lambda r: _words("correction_statuses", r.get("status"))),
            c("filed_at", _l("Sent (China time)"), _time("filed_at")),
            c("due_by", _l("Decision due by"), _field("due_by")),
            c("forward_by", _l("Forward to the agency by"), _field("forward_by")),
            c("forwarded_at", _l("Forwarded (China time)"), _time("forwarded_at")),
            c("agency_answer", _l("The agency's answer"), _field("agency_answer")),
            c("decided_at", _l("Decided (China time)"), _time("decided_at")),
            c("decided_by", _l("Decided by"), _who("decided_by")),
            c("decided_by_office", _l("Office"), _field("decided_by_office")),
            c("decision", _l("Decision"), _words_of("correction_action_results", "decision_action")),
            c("decision_note", _l("Reasons given"), _field("decision_note")),
            c("updated_at", _l("Last changed (China time)"), _time("updated_at")),
        ]),
        "correction_events": ("correction_timeline", _l("What happened to each correction"), [
            c("reference", _l("Reference"), _field("_reference")),
            c("at", _l("When (China time)"), _time("at")),
            c("event", _l("What happened"), _words_of("correction_events", "event")),
            c("by", _l("By"), _who("actor")),
            c("by_office", _l("Office"), _field("actor_office")),
            c("note", _l("Note"), _field("note")),
        ]),
        "correction_evidence": ("correction_evidence", _l("Files you sent as evidence"), [
            c("reference", _l("Reference"), _field("_reference")),
            c("entry_number", _l("Entry number"), _field("entry_id")),
            c("file_name", _l("File name"), _field("filename")),
            c("file_type", _l("File type"), _field("content_type")),
            c("size_bytes", _l("Size (bytes)"), _field("size")),
            c("sent_at", _l("Sent (China time)"), _time("uploaded_at")),
        ]),
        "correction_drafts": ("correction_drafts", _l("Corrections you started but did not send"), [
            c("entry_number", _l("Entry number"), _field("entry_id")),
            c("kind", _l("Kind"), lambda r: _words("correction_kinds", r.get("kind"))),
            c("statement", _l("Your statement"), _draft_statement),
            c("saved_at", _l("Saved (China time)"), _time("saved_at")),
        ]),
        "enrolments": ("pilot_enrolments", _l("Scoring pilots you joined"), [
            c("pilot", _l("Pilot"), _field("_pilot")),
            c("state", _l("State"), lambda r: _words("enrolment_states", r.get("state"))),
            c("changed_at", _l("Since (China time)"), _time("changed_at")),
        ]),
        "enrolment_history": ("pilot_enrolment_changes", _l("When you joined or left a pilot"), [
            c("pilot", _l("Pilot"), _field("_pilot")),
            c("at", _l("When (China time)"), _time("at")),
            c("before", _l("Before"), lambda r: _words("enrolment_states", r.get("old_state"))),
            c("after", _l("After"), lambda r: _words("enrolment_states", r.get("new_state"))),
            c("by", _l("By"), _who("actor")),
            c("by_office", _l("Office"), _field("actor_office")),
            c("note", _l("Note"), _field("note")),
        ]),
        "score_events": ("pilot_score_events", _l("Pilot score events"), [
            c("pilot", _l("Pilot"), _field("_pilot")),
            c("rule", _l("Rule"), _field("_rule")),
            c("points", _l("Points"), _field("delta")),
            c("reason", _l("Reason"), _field("reason")),
            c("source", _l("Reported by"), _field("source")),
            c("occurred_on", _l("Happened on"), _field("occurred_on")),
            c("recorded_at", _l("Recorded (China time)"), _time("recorded_at")),
        ]),
        "certificates": ("certificates", _l("Your certificates"), [
            c("certificate", _l("Certificate"), _field("id")),
            c("purpose", _l("Purpose"), lambda r: _words("certificate_purposes", r.get("purpose"))),
            c("audience", _l("For"), _field("audience")),
            c("states", _l("States"), _statements),
            c("issued_at", _l("Issued (China time)"), _time("issued_at")),
            c("expires_at", _l("Ends (China time)"), _time("expires_at")),
            c("revoked_at", _l("Revoked (China time)"), _time("revoked_at")),
        ]),
        "certificate_credentials": ("certificate_credentials", _l("Offline credentials"), [
            c("certificate", _l("Certificate"), _field("certificate_id")),
            c("credential", _l("Credential (SD-JWT)"), _field("credential")),
        ]),
        "certificate_scans": ("certificate_scans", _l("Checks of your certificates"), [
            c("certificate", _l("Certificate"), _field("certificate_id")),
            c("at", _l("When (China time)"), _time("at")),
            c("verdict", _l("Result"), _mapped(SCAN_VERDICTS, "verdict")),
            c("browser", _l("Browser"), _field("browser_family")),
            c("declared_who", _l("Who they said they were"), _field("declared_who")),
            c("declared_why", _l("Why they said they checked"), _field("declared_why")),
        ]),
        "inbox_messages": ("inbox", _l("Your messages"), [
            c("at", _l("When (China time)"), _time("at")),
            c("about", _l("About"), _mapped(INBOX_KINDS, "kind")),
            c("correction", _l("Correction"), _field("_reference")),
            c("entry_number", _l("Entry number"), _field("entry_id")),
            c("read_at", _l("Read (China time)"), _time("read_at")),
        ]),
        "access_log": ("who_looked", _l("Who looked at your record"), [
            c("at", _l("When (China time)"), _time("at")),
            c("first_at", _l("First of them (China time)"), _time("first_at")),
            c("times", _l("How many times"), _field("count")),
            c("who", _l("Who"), lambda r: str(ROLE_WORDS.get(r.get("role") or "", ""))
              or str(ACCESS_KINDS.get(r.get("kind"), r.get("kind")))),
            c("office", _l("Office"), _field("office")),
            c("what", _l("What they did"), _field("_action")),
        ]),
    }


def _words_of(global_name: str, name: str) -> Callable[[dict], object]:
    return lambda row: _words(global_name, row.get(name))


def _draft_statement(row: dict) -> str:
    try:
        answers = json.loads(row.get("answers") or "{}")
    except ValueError:
        return ""
    return answers.get("statement", "") if isinstance(answers, dict) else ""


def _generic(table: str, table_rows: list[dict]) -> tuple[str, object, list[Column]]:
    """A table no spec names (a capability added it): its columns as they are, internal
    ones left out, timestamps in China time."""
    names: list[str] = []
    for row in table_rows:
        names.extend(k for k in row if k not in names and k not in INTERNAL_COLUMNS
                     and not k.startswith("_"))

    def value(name):
        def read(row):
            found = row.get(name)
            if isinstance(found, str) and len(found) > 10 and found[4:5] == "-" and "T" in found:
                try:
                    return china_time(found)
                except ValueError:
                    return found
            return found
        return read
    return table, table, [Column(name, name, value(name)) for name in names]


def tables(conn: Connection, export: dict, today: date,
           action_words: Callable[[str], object]) -> list[Table]:
    """The export's tables made for people, in reading order; only tables that exist."""
    data = {name: [dict(row) for row in found] for name, found in export["tables"].items()}
    for found in data.values():
        for row in found:
            row["_resident"] = export["id_number"]
            row["_today"] = today
    _enrich(conn, data, action_words)
    specs = _specs()
    result = []
    for name in [*specs, *sorted(set(data) - set(specs))]:
        if name not in data:
            continue
        key, title, columns = specs[name] if name in specs else _generic(name, data[name])
        result.append(Table(key, title, columns, data[name]))
    return result


def _enrich(conn: Connection, data: dict[str, list[dict]],
            action_words: Callable[[str], object]) -> None:
    """Join in what the codes stand for: lists and sanctions, correction references,
    pilot names and rules, and the words for what each access did."""
    entries = data.get("entries", [])
    if entries:
        # The same list fields and sanctions the record page shows (a copy per entry).
        with_lists = {e["id"]: e for e in record_entries.entries_for(conn, entries[0]["id_number"])}
        data["entry_sanctions"] = []
        for entry in entries:
            joined = with_lists.get(entry["id"], {})
            entry.update({k: v for k, v in joined.items() if k not in entry})
            entry["_sanctions"] = joined.get("sanctions", [])
            for sanction in entry["_sanctions"]:
                data["entry_sanctions"].append({
                    **sanction, "entry_id": entry["id"], "list": localized(entry, "list_name")})
    references = {row["id"]: row["reference"] for row in data.get("corrections", [])}
    for table in ("entry_history", "correction_events", "correction_evidence", "inbox_messages"):
        for row in data.get(table, []):
            row["_reference"] = references.get(row.get("correction_id"))
    pilots = {row["code"]: row for row in rows(conn, "SELECT code, name_en, name_zh, rules "
                                                     "FROM pilots")} if any(
        data.get(t) for t in ("enrolments", "enrolment_history", "score_events")) else {}
    for table in ("enrolments", "enrolment_history", "score_events"):
        for row in data.get(table, []):
            pilot = pilots.get(row.get("pilot_code"))
            row["_pilot"] = localized(pilot, "name") if pilot else row.get("pilot_code")
            if table == "score_events":
                rule = json.loads((pilot or {}).get("rules") or "{}").get(row.get("event_type"))
                row["_rule"] = localized(rule, "label") if rule else row.get("event_type")
    for row in data.get("access_log", []):
        row["_action"] = str(action_words(row["action"]))


# ---------------------------------------------------------------- files


def _about(export: dict) -> str:
    return _("Credit Self-Check: all data held about ID number %(id_number)s, made on "
             "%(time)s (China time).", id_number=export["id_number"],
             time=china_time(export["generated_at"]))


def csv_zip(export: dict, found: list[Table]) -> bytes:
    """One CSV file per table (headers in the reader's language; written by csv_export,
    so no cell runs as a formula), and a README naming what each file holds."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        lines = [_about(export), ""]
        lines += [_("%(file)s: %(title)s", file=f"{table.key}.csv", title=table.title)
                  for table in found]
        archive.writestr("README.txt", "\n".join(lines) + "\n")
        for table in found:
            archive.writestr(f"{table.key}.csv", write_csv([table.header(), *table.values()]))
    return buffer.getvalue()


def _column_type(values: list) -> type:
    present = [v for v in values if v is not None and v != ""]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return int
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return float
    return str


def sqlite_file(export: dict, found: list[Table]) -> bytes:
    """A SQLite database of the same tables (column names for tools, values as the CSV
    files give them) and a README table describing every table and column in the
    reader's language. Built in a temporary file for this request only."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "export.db"
        database = Database(path)
        try:
            readme = [{"table_name": "", "column_name": "", "description": _about(export)}]
            for table in found:
                if not table.columns:  # a table no spec names, with no rows to name columns
                    continue
                records = table.records()
                database[table.key].create(
                    {column.key: _column_type([r[column.key] for r in records])
                     for column in table.columns})
                database[table.key].insert_all(records)
                readme.append({"table_name": table.key, "column_name": "",
                               "description": str(table.title)})
                readme += [{"table_name": table.key, "column_name": column.key,
                            "description": str(column.label)} for column in table.columns]
            database["README"].insert_all(readme)
        finally:
            database.close()
        return path.read_bytes()
