"""Scoring pilots data layer: pilots, enrolment (opt in/out), score ledger, grades,
status changes, event recording and purge. No Flask here: every function takes the
Database, so the CLI and tests use it directly. All writes run in write_transaction and
are audited in the same transaction."""
import json
import random
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit
from ..db import write_transaction

ACTIVE, PAUSED, CLOSED = "active", "paused", "closed"
STATUSES = (ACTIVE, PAUSED, CLOSED)
# Allowed administrator toggles: action -> (statuses it may start from, new status).
TRANSITIONS = {
    "pause": ((ACTIVE,), PAUSED),
    "resume": ((PAUSED,), ACTIVE),
    "close": ((ACTIVE, PAUSED), CLOSED),
}
# Score events of a closed pilot are erased this many days after closing (see
# docs/pilots.md: time to view and copy them, then PIPL Art. 47 deletion).
RETENTION_DAYS = 30


class PilotError(Exception):
    """A refused pilot action; `code` is a stable key the views translate."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@lru_cache(maxsize=64)
def _parsed(text: str) -> Any:
    # Rules and grade bands change only when the catalog is loaded again, and the same
    # text always parses to the same value: parsed once, shared, and only ever read.
    return json.loads(text)


def _pilot(row: dict) -> dict:
    pilot = dict(row)
    pilot["grade_bands"] = _parsed(row["grade_bands"] or "[]")
    pilot["rules"] = _parsed(row["rules"] or "{}")
    # Everything the pilot's rules and grades sections show depends on (see
    # views.pilot_reference): the same key always renders the same HTML.
    pilot["reference_key"] = (row["code"], row["rules"], row["grade_bands"],
                              row["bands_illustrative"])
    return pilot


def get_pilot(db: Database, code: str) -> dict | None:
    rows = list(db.query("SELECT * FROM pilots WHERE code = ?", [code]))
    return _pilot(rows[0]) if rows else None


def all_pilots(db: Database) -> list[dict]:
    return [_pilot(r) for r in db.query("SELECT * FROM pilots ORDER BY code")]


def pilots_for_region(db: Database, region_code: str) -> list[dict]:
    """Pilots whose region prefix covers this 6-digit region code."""
    return [
        _pilot(r)
        for r in db.query(
            "SELECT * FROM pilots WHERE ? LIKE region_code || '%' ORDER BY code",
            [region_code],
        )
    ]


def covers(pilot: dict, id_number: str) -> bool:
    return id_number[:6].startswith(pilot["region_code"])


def rule_applicable(rule: dict | None) -> bool:
    """A rule may be applied only when it names a legal basis."""
    return bool(rule and (rule.get("legal_basis_en") or "").strip()
                and (rule.get("legal_basis_zh") or "").strip())


def enrolment_state(db: Database, code: str, id_number: str) -> str:
    """'in' or 'out'; no row means never enrolled, which is 'out' (the default)."""
    row = db.execute(
        "SELECT state FROM enrolments WHERE pilot_code = ? AND id_number = ?",
        [code, id_number],
    ).fetchone()
    return row[0] if row else "out"


def grade_for(pilot: dict, score: int, cap: str | None = None) -> dict | None:
    """The band holding `score`; a rule's grade cap (drunk driving -> C) can lower it."""
    bands = pilot["grade_bands"]
    index = next(
        (i for i, b in enumerate(bands)
         if (b["min"] is None or score >= b["min"]) and (b["max"] is None or score <= b["max"])),
        None,
    )
    if index is None:
        return None
    if cap:
        cap_index = next((i for i, b in enumerate(bands) if b["grade"] == cap), None)
        if cap_index is not None and cap_index > index:
            index = cap_index
    return bands[index]


@dataclass
class Standing:
    """An enrolled resident's score, grade and ledger (oldest first, running total)."""

    score: int
    grade: dict | None
    capped_by: str | None
    ledger: list[dict] = field(default_factory=list)


def standing(db: Database, pilot: dict, id_number: str) -> Standing:
    """Score = base + sum of deltas. Only call for an enrolled resident."""
    total = pilot["base_score"]
    cap = None
    ledger = []
    for event in db.query(
        "SELECT id, event_type, delta, reason, source, occurred_on, recorded_at "
        "FROM score_events WHERE pilot_code = ? AND id_number = ? "
        "ORDER BY occurred_on, id",
        [pilot["code"], id_number],
    ):
        total += event["delta"]
        rule = pilot["rules"].get(event["event_type"]) or {}
        if rule.get("grade_cap"):
            cap = rule["grade_cap"]
        event["running_total"] = total
        event["rule"] = rule
        ledger.append(event)
    return Standing(total, grade_for(pilot, total, cap), cap, ledger)


def chart_points(pilot: dict, ledger: list[dict], today: date, width: int = 320,
                 height: int = 120, pad: int = 24) -> dict:
    """Coordinates of the score-over-time line, for an inline server-rendered SVG."""
    if not ledger:
        return {"points": "", "min": pilot["base_score"], "max": pilot["base_score"],
                "first": None, "last": None, "width": width, "height": height, "pad": pad,
                "dots": []}
    first_day = date.fromisoformat(ledger[0]["occurred_on"]) - timedelta(days=1)
    series = [(first_day, pilot["base_score"])] + [
        (date.fromisoformat(e["occurred_on"]), e["running_total"]) for e in ledger
    ]
    series.append((max(today, series[-1][0]), series[-1][1]))
    low = min(v for _, v in series)
    high = max(v for _, v in series)
    span_days = max(1, (series[-1][0] - series[0][0]).days)
    span_val = max(1, high - low)

    def xy(day: date, value: int) -> tuple[str, str]:
        # One decimal is plenty for a 320-unit SVG. Formatting each number once with
        # ".1f" gives the same text as str(round(x, 1)) at a third of the cost.
        x = pad + (day - series[0][0]).days / span_days * (width - 2 * pad)
        y = pad / 2 + (high - value) / span_val * (height - 1.5 * pad)
        return f"{x:.1f}", f"{y:.1f}"

    coords = []
    dots = []
    previous = None
    last = len(series) - 1
    for i, (day, value) in enumerate(series):  # step line: the score holds until the next event
        x, y = xy(day, value)
        if previous is not None:
            coords.append(f"{x},{previous}")
        coords.append(f"{x},{y}")
        previous = y
        if 0 < i < last:  # a dot on each event, not on the start and today's end
            dots.append((x, y))
    return {
        "points": " ".join(coords),
        "dots": dots,
        "min": low, "max": high,
        "first": series[0][0], "last": series[-1][0],
        "width": width, "height": height, "pad": pad,
    }


# ---------------------------------------------------------------------------------
# Resident actions
# ---------------------------------------------------------------------------------


def _set_state(db: Database, code: str, id_number: str, new: str, actor: str,
               at: str, note: str) -> str:
    old = enrolment_state(db, code, id_number)
    db.table("enrolments").upsert(
        {"pilot_code": code, "id_number": id_number, "state": new, "changed_at": at},
        pk=("pilot_code", "id_number"),
    )
    db.table("enrolment_history").insert({
        "pilot_code": code, "id_number": id_number, "old_state": old, "new_state": new,
        "at": at, "actor": actor, "note": note,
    })
    return old


def opt_in(db: Database, pilot: dict, id_number: str, actor: str, at: str) -> None:
    if not covers(pilot, id_number):
        raise PilotError("not_covered")
    if pilot["status"] != ACTIVE:
        raise PilotError(f"opt_in_{pilot['status']}")
    with write_transaction(db):
        if enrolment_state(db, pilot["code"], id_number) == "in":
            return
        _set_state(db, pilot["code"], id_number, "in", actor, at,
                   "Opted in after reading the consent summary")
        audit.record(db, actor, "pilot_opt_in", id_number, {"pilot": pilot["code"]})


def opt_out(db: Database, pilot: dict, id_number: str, actor: str, at: str,
            erase: bool) -> int:
    """Opt out in any pilot status; optionally erase the score events. Returns the
    number of events erased. Enrolment history is kept."""
    erased = 0
    with write_transaction(db):
        was = enrolment_state(db, pilot["code"], id_number)
        if was == "in":
            _set_state(db, pilot["code"], id_number, "out", actor, at,
                       "Opted out" + (" and asked for erasure" if erase else ""))
            audit.record(db, actor, "pilot_opt_out", id_number, {"pilot": pilot["code"]})
        if erase:
            erased = db.execute(
                "DELETE FROM score_events WHERE pilot_code = ? AND id_number = ?",
                [pilot["code"], id_number],
            ).rowcount
            audit.record(db, actor, "pilot_events_erased", id_number,
                         {"pilot": pilot["code"], "note": f"erased {erased} events",
                          "count": erased})
    return erased


def events_held(db: Database, code: str, id_number: str) -> int:
    return db.execute(
        "SELECT COUNT(*) FROM score_events WHERE pilot_code = ? AND id_number = ?",
        [code, id_number],
    ).fetchone()[0]


# ---------------------------------------------------------------------------------
# Administrator actions
# ---------------------------------------------------------------------------------


def can_manage(role: str, own_pilot: str | None, code: str) -> bool:
    """Pilot admins act only on their own pilot; superadmins on every pilot."""
    return role == "superadmin" or (role == "pilot_admin" and own_pilot == code)


def set_status(db: Database, pilot: dict, action: str, actor: str, reason: str,
               at: str) -> str:
    starts, new = TRANSITIONS[action]
    with write_transaction(db):
        current = db.execute("SELECT status FROM pilots WHERE code = ?",
                             [pilot["code"]]).fetchone()[0]
        if current not in starts:
            raise PilotError(f"cannot_{action}")
        changes: dict[str, Any] = {"status": new}
        if new == CLOSED:
            changes["closed_at"] = at
        db.table("pilots").update(pilot["code"], changes)
        db.table("pilot_status_history").insert({
            "pilot_code": pilot["code"], "old_status": current, "new_status": new,
            "at": at, "actor": actor, "reason": reason,
        })
        audit.record(db, actor, f"pilot_{action}", None,
                     {"pilot": pilot["code"], "from": current, "to": new, "reason": reason})
    return new


def status_history(db: Database, code: str, limit: int = 10) -> list[dict]:
    return list(db.query(
        "SELECT * FROM pilot_status_history WHERE pilot_code = ? ORDER BY id DESC LIMIT ?",
        [code, limit],
    ))


def find_resident(db: Database, pilot: dict, id_number: str, actor: str) -> dict | None:
    """An admin's look-up of a resident for recording an event: audited as a read."""
    rows = list(db.query(
        "SELECT id_number, name, birth_date, sex, region_code FROM residents "
        "WHERE id_number = ?", [id_number]))
    resident = rows[0] if rows else None
    audit.record(db, actor, "pilot_resident_lookup", id_number,
                 {"pilot": pilot["code"], "found": resident is not None})
    if resident is not None:
        resident["enrolled"] = enrolment_state(db, pilot["code"], id_number) == "in"
        resident["covered"] = covers(pilot, id_number)
    return resident


def record_event(db: Database, pilot: dict, id_number: str, event_type: str,
                 occurred_on: date, reason: str, source: str, actor: str, at: str) -> int:
    """Store one score event from the pilot's rule table, or raise PilotError."""
    rule = pilot["rules"].get(event_type)
    if rule is None:
        raise PilotError("unknown_rule")
    if not rule_applicable(rule):
        raise PilotError("no_legal_basis")
    with write_transaction(db):
        status = db.execute("SELECT status FROM pilots WHERE code = ?",
                            [pilot["code"]]).fetchone()[0]
        if status != ACTIVE:
            raise PilotError(f"event_{status}")
        if enrolment_state(db, pilot["code"], id_number) != "in":
            raise PilotError("not_enrolled")
        event_id = db.table("score_events").insert({
            "pilot_code": pilot["code"], "id_number": id_number, "event_type": event_type,
            "delta": int(rule["points"]), "reason": reason, "source": source,
            "occurred_on": occurred_on.isoformat(), "recorded_at": at,
        }).last_pk
        audit.record(db, actor, "pilot_event_recorded", id_number,
                     {"pilot": pilot["code"], "event_type": event_type,
                      "delta": int(rule["points"]), "event_id": event_id})
    return event_id


def figures(db: Database, pilot: dict, today: date) -> dict:
    """Enrolled, opted out, events this month (recorded since the 1st of the current
    month, China time) and the grade distribution of enrolled residents."""
    code = pilot["code"]
    counts = dict(db.execute(
        "SELECT state, COUNT(*) FROM enrolments WHERE pilot_code = ? GROUP BY state",
        [code]).fetchall())
    month_start = today.replace(day=1).isoformat()
    events_month = db.execute(
        "SELECT COUNT(*) FROM score_events WHERE pilot_code = ? AND recorded_at >= ?",
        [code, month_start]).fetchone()[0]
    caps = {t: r["grade_cap"] for t, r in pilot["rules"].items() if r.get("grade_cap")}
    distribution = {b["grade"]: 0 for b in pilot["grade_bands"]}
    cap_list = list(caps) or [""]
    marks = ",".join("?" for _ in cap_list)
    rows = db.execute(
        f"SELECT e.id_number, COALESCE(SUM(s.delta), 0), "  # noqa: S608 (placeholders only)
        f"MAX(CASE WHEN s.event_type IN ({marks}) THEN s.event_type END) "
        "FROM enrolments e LEFT JOIN score_events s "
        "ON s.pilot_code = e.pilot_code AND s.id_number = e.id_number "
        "WHERE e.pilot_code = ? AND e.state = 'in' GROUP BY e.id_number",
        [*cap_list, code]).fetchall()
    for _id, total, capped in rows:
        band = grade_for(pilot, pilot["base_score"] + total, caps.get(capped))
        if band:
            distribution[band["grade"]] += 1
    return {
        "enrolled": counts.get("in", 0),
        "opted_out": counts.get("out", 0),
        "events_this_month": events_month,
        "month_start": today.replace(day=1),
        "distribution": [
            {"band": b, "count": distribution[b["grade"]]} for b in pilot["grade_bands"]
        ],
    }


def purge_closed(db: Database, today: date, actor: str = "system:purge-closed-pilots",
                 retention_days: int = RETENTION_DAYS) -> list[tuple[str, int]]:
    """Erase score events of pilots closed at least `retention_days` ago. Safe to run
    repeatedly: a purged pilot has no events left and is skipped."""
    done = []
    for pilot in db.query(
        "SELECT code, closed_at FROM pilots WHERE status = 'closed' AND closed_at IS NOT NULL"
    ):
        closed_on = datetime.fromisoformat(pilot["closed_at"]).date()
        if today < closed_on + timedelta(days=retention_days):
            continue
        with write_transaction(db):
            erased = db.execute("DELETE FROM score_events WHERE pilot_code = ?",
                                [pilot["code"]]).rowcount
            if erased:
                db.table("pilots").update(pilot["code"], {"purged_at": today.isoformat()})
                audit.record(db, actor, "pilot_closed_purge", None,
                             {"pilot": pilot["code"], "note": f"erased {erased} events",
                              "count": erased})
        done.append((pilot["code"], erased))
    return done


def seed_pilot_events(db: Database, code: str, share: float, seed: int, today: date,
                      events_per_resident: int = 8) -> tuple[int, int]:
    """Bench/demo data: enrol `share` of the adult residents in the pilot's region who
    are not enrolled yet and have no account (personas keep their state), each with a few events from rules that have a legal basis.
    Deterministic for a given seed. Returns (enrolled, events)."""
    pilot = get_pilot(db, code)
    if pilot is None:
        raise PilotError("unknown_pilot")
    usable = [t for t, r in pilot["rules"].items() if rule_applicable(r)]
    rng = random.Random(seed)
    adult = today.replace(year=today.year - 18).isoformat()
    since = today - timedelta(days=730)
    at = datetime(since.year, since.month, since.day, 2, 0).isoformat() + "+00:00"
    enrolments, history, events = [], [], []
    for (id_number,) in db.execute(
        "SELECT r.id_number FROM residents r WHERE r.region_code LIKE ? || '%' "
        "AND r.birth_date <= ? AND NOT EXISTS (SELECT 1 FROM enrolments e "
        "WHERE e.pilot_code = ? AND e.id_number = r.id_number) "
        # Residents with accounts (the demo personas) keep their documented state.
        "AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id_number = r.id_number) "
        "ORDER BY r.id_number",
        [pilot["region_code"], adult, code],
    ):
        if rng.random() >= share:
            continue
        enrolments.append({"pilot_code": code, "id_number": id_number, "state": "in",
                           "changed_at": at})
        history.append({"pilot_code": code, "id_number": id_number, "old_state": None,
                        "new_state": "in", "at": at, "actor": f"resident:{id_number}",
                        "note": "Opted in with informed consent (generated)"})
        for _ in range(rng.randint(1, events_per_resident)):
            event_type = rng.choice(usable)
            occurred = since + timedelta(days=rng.randint(1, 729))
            events.append({
                "pilot_code": code, "id_number": id_number, "event_type": event_type,
                "delta": int(pilot["rules"][event_type]["points"]),
                "reason": pilot["rules"][event_type]["label_en"] + " (generated)",
                "source": "Generated for the benchmark",
                "occurred_on": occurred.isoformat(),
                "recorded_at": occurred.isoformat() + "T03:00:00+00:00",
            })
    with write_transaction(db):
        db.table("enrolments").insert_all(enrolments, batch_size=10_000)
        db.table("enrolment_history").insert_all(history, batch_size=10_000)
        db.table("score_events").insert_all(events, batch_size=10_000)
        audit.record(db, "system:seed-pilot-events", "pilot_events_seeded", None,
                     {"pilot": code, "enrolled": len(enrolments), "events": len(events)})
    return len(enrolments), len(events)
