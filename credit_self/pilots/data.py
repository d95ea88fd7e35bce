"""Scoring pilots data layer: pilots, enrolment (opt in/out), score ledger, grades,
status changes, event recording and purge. No Flask here: every function takes the
Connection, so the CLI and tests use it directly. All writes run in write_transaction
and are audited in the same transaction."""
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Connection

from .. import audit, clock
from ..db import execute, first, insert, insert_many, rows, scalar, sql, write_transaction
from ..progress import progress

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


def _pilot(row: dict) -> dict:
    pilot = dict(row)
    pilot["grade_bands"] = json.loads(row["grade_bands"] or "[]")
    pilot["rules"] = json.loads(row["rules"] or "{}")
    return pilot


def get_pilot(conn: Connection, code: str) -> dict | None:
    row = first(conn, "SELECT * FROM pilots WHERE code = :code", code=code)
    return _pilot(row) if row else None


def all_pilots(conn: Connection) -> list[dict]:
    return [_pilot(r) for r in rows(conn, "SELECT * FROM pilots ORDER BY code")]


def pilots_for_region(conn: Connection, region_code: str) -> list[dict]:
    """Pilots whose region prefix covers this 6-digit region code."""
    return [_pilot(r) for r in rows(
        conn, "SELECT * FROM pilots WHERE :region LIKE region_code || '%' ORDER BY code",
        region=region_code)]


def covers(pilot: dict, id_number: str) -> bool:
    return id_number[:6].startswith(pilot["region_code"])


def rule_applicable(rule: dict | None) -> bool:
    """A rule may be applied only when it names a legal basis."""
    return bool(rule and (rule.get("legal_basis_en") or "").strip()
                and (rule.get("legal_basis_zh") or "").strip())


def enrolment_state(conn: Connection, code: str, id_number: str) -> str:
    """'in' or 'out'; no row means never enrolled, which is 'out' (the default)."""
    state = scalar(conn, "SELECT state FROM enrolments WHERE pilot_code = :code "
                         "AND id_number = :id_number", code=code, id_number=id_number)
    return state or "out"


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


def standing(conn: Connection, pilot: dict, id_number: str) -> Standing:
    """Score = base + sum of deltas. Only call for an enrolled resident."""
    total = pilot["base_score"]
    cap = None
    ledger = []
    for event in rows(
        conn,
        "SELECT id, event_type, delta, reason, source, occurred_on, recorded_at "
        "FROM score_events WHERE pilot_code = :code AND id_number = :id_number "
        "ORDER BY occurred_on, id",
        code=pilot["code"], id_number=id_number,
    ):
        total += event["delta"]
        rule = pilot["rules"].get(event["event_type"]) or {}
        if rule.get("grade_cap"):
            cap = rule["grade_cap"]
        event["running_total"] = total
        event["rule"] = rule
        ledger.append(event)
    return Standing(total, grade_for(pilot, total, cap), cap, ledger)


# The chart's label size in its own units: at least 12 px where a 360 px phone draws the
# 320-unit chart about 296 px wide. The padding leaves room for labels of that size.
CHART_LABEL_SIZE = 14


def chart_points(pilot: dict, ledger: list[dict], today: date, width: int = 320,
                 height: int = 150, pad: int = 40) -> dict:
    """Coordinates of the score-over-time line, for an inline server-rendered SVG."""
    if not ledger:
        return {"points": "", "min": pilot["base_score"], "max": pilot["base_score"],
                "first": None, "last": None, "width": width, "height": height, "pad": pad,
                "dots": [], "label_size": CHART_LABEL_SIZE}
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
        # One decimal is plenty for a 320-unit SVG.
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
        "width": width, "height": height, "pad": pad, "label_size": CHART_LABEL_SIZE,
    }


# ---------------------------------------------------------------------------------
# Resident actions
# ---------------------------------------------------------------------------------


def _set_state(conn: Connection, code: str, id_number: str, new: str, actor: str,
               at: str, note: str) -> str:
    old = enrolment_state(conn, code, id_number)
    execute(conn, "INSERT INTO enrolments (pilot_code, id_number, state, changed_at) "
                  "VALUES (:code, :id_number, :state, :at) "
                  "ON CONFLICT (pilot_code, id_number) DO UPDATE "
                  "SET state = excluded.state, changed_at = excluded.changed_at",
            code=code, id_number=id_number, state=new, at=at)
    insert(conn, "enrolment_history", {
        "pilot_code": code, "id_number": id_number, "old_state": old, "new_state": new,
        "at": at, "actor": actor, "note": note,
    })
    return old


def opt_in(conn: Connection, pilot: dict, id_number: str, actor: str, at: str) -> None:
    if not covers(pilot, id_number):
        raise PilotError("not_covered")
    with write_transaction(conn):
        # Read again under the write lock: an administrator may have paused it since.
        status = scalar(conn, "SELECT status FROM pilots WHERE code = :code", code=pilot["code"])
        if status != ACTIVE:
            raise PilotError(f"opt_in_{status}")
        if enrolment_state(conn, pilot["code"], id_number) == "in":
            return
        _set_state(conn, pilot["code"], id_number, "in", actor, at,
                   "Opted in after reading the consent summary")
        audit.record(conn, actor, "pilot_opt_in", id_number, {"pilot": pilot["code"]})


def opt_out(conn: Connection, pilot: dict, id_number: str, actor: str, at: str,
            erase: bool) -> int:
    """Opt out in any pilot status; optionally erase the score events. Returns the
    number of events erased. Enrolment history is kept."""
    erased = 0
    with write_transaction(conn):
        was = enrolment_state(conn, pilot["code"], id_number)
        if was == "in":
            _set_state(conn, pilot["code"], id_number, "out", actor, at,
                       "Opted out" + (" and asked for erasure" if erase else ""))
            audit.record(conn, actor, "pilot_opt_out", id_number, {"pilot": pilot["code"]})
        if erase:
            erased = execute(conn, "DELETE FROM score_events WHERE pilot_code = :code "
                                   "AND id_number = :id_number",
                             code=pilot["code"], id_number=id_number).rowcount
            audit.record(conn, actor, "pilot_events_erased", id_number,
                         {"pilot": pilot["code"], "note": f"erased {erased} events",
                          "count": erased})
    return erased


def opted_in_on(conn: Connection, code: str, id_number: str) -> date | None:
    """The China day of the resident's current opt-in (None when not enrolled)."""
    changed_at = scalar(conn, "SELECT changed_at FROM enrolments WHERE pilot_code = :code "
                              "AND id_number = :id_number AND state = 'in'",
                        code=code, id_number=id_number)
    if changed_at is None:
        return None
    moment = datetime.fromisoformat(changed_at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(clock.LOCAL_TZ).date()


def events_held(conn: Connection, code: str, id_number: str) -> int:
    return scalar(conn, "SELECT COUNT(*) FROM score_events WHERE pilot_code = :code "
                        "AND id_number = :id_number", code=code, id_number=id_number)


# ---------------------------------------------------------------------------------
# Administrator actions
# ---------------------------------------------------------------------------------


def held_by_pilot(conn: Connection, code: str) -> dict:
    """What closing would end: residents enrolled now and score events held."""
    return {
        "enrolled": scalar(conn, "SELECT COUNT(*) FROM enrolments WHERE pilot_code = :code "
                                 "AND state = 'in'", code=code),
        "events": scalar(conn, "SELECT COUNT(*) FROM score_events WHERE pilot_code = :code",
                         code=code),
    }


def can_manage(role: str, own_pilot: str | None, code: str) -> bool:
    """Pilot admins act only on their own pilot; superadmins on every pilot."""
    return role == "superadmin" or (role == "pilot_admin" and own_pilot == code)


def set_status(conn: Connection, pilot: dict, action: str, actor: str, reason: str,
               at: str) -> str:
    starts, new = TRANSITIONS[action]
    with write_transaction(conn):
        current = scalar(conn, "SELECT status FROM pilots WHERE code = :code", code=pilot["code"])
        if current not in starts:
            raise PilotError(f"cannot_{action}")
        execute(conn, "UPDATE pilots SET status = :status, "
                      "closed_at = CASE WHEN :status = 'closed' THEN :at ELSE closed_at END "
                      "WHERE code = :code", status=new, at=at, code=pilot["code"])
        insert(conn, "pilot_status_history", {
            "pilot_code": pilot["code"], "old_status": current, "new_status": new,
            "at": at, "actor": actor, "reason": reason,
        })
        audit.record(conn, actor, f"pilot_{action}", None,
                     {"pilot": pilot["code"], "from": current, "to": new, "reason": reason})
    return new


def status_history(conn: Connection, code: str, limit: int = 10) -> list[dict]:
    return rows(conn, "SELECT * FROM pilot_status_history WHERE pilot_code = :code "
                      "ORDER BY id DESC LIMIT :limit", code=code, limit=limit)


def find_resident(conn: Connection, pilot: dict, id_number: str, actor: str) -> dict | None:
    """An admin's look-up of a resident for recording an event: audited as a read."""
    resident = first(conn, "SELECT id_number, name, birth_date, sex, region_code FROM residents "
                           "WHERE id_number = :id_number", id_number=id_number)
    audit.record(conn, actor, "pilot_resident_lookup", id_number,
                 {"pilot": pilot["code"], "found": resident is not None})
    if resident is not None:
        resident["enrolled"] = enrolment_state(conn, pilot["code"], id_number) == "in"
        resident["covered"] = covers(pilot, id_number)
    return resident


def record_event(conn: Connection, pilot: dict, id_number: str, event_type: str,
                 occurred_on: date, reason: str, source: str, actor: str, at: str) -> int:
    """Store one score event from the pilot's rule table, or raise PilotError."""
    rule = pilot["rules"].get(event_type)
    if rule is None:
        raise PilotError("unknown_rule")
    if not rule_applicable(rule):
        raise PilotError("no_legal_basis")
    with write_transaction(conn):
        status = scalar(conn, "SELECT status FROM pilots WHERE code = :code", code=pilot["code"])
        if status != ACTIVE:
            raise PilotError(f"event_{status}")
        if enrolment_state(conn, pilot["code"], id_number) != "in":
            raise PilotError("not_enrolled")
        # The consent summary promises scoring "from the day you opt in".
        if occurred_on < opted_in_on(conn, pilot["code"], id_number):
            raise PilotError("before_opt_in")
        event_id = insert(conn, "score_events", {
            "pilot_code": pilot["code"], "id_number": id_number, "event_type": event_type,
            "delta": int(rule["points"]), "reason": reason, "source": source,
            "occurred_on": occurred_on.isoformat(), "recorded_at": at,
        }, returning="id")
        audit.record(conn, actor, "pilot_event_recorded", id_number,
                     {"pilot": pilot["code"], "event_type": event_type,
                      "delta": int(rule["points"]), "event_id": event_id})
    return event_id


def figures(conn: Connection, pilot: dict, today: date) -> dict:
    """Enrolled, opted out, events this month (recorded since the 1st of the current
    month, China time) and the grade distribution of enrolled residents."""
    code = pilot["code"]
    counts = {row["state"]: row["n"] for row in rows(
        conn, "SELECT state, COUNT(*) AS n FROM enrolments WHERE pilot_code = :code "
              "GROUP BY state", code=code)}
    # recorded_at is UTC text: the month starts at midnight China time, the evening
    # before in UTC.
    month_start = datetime.combine(today.replace(day=1), time(0), clock.LOCAL_TZ)
    since = month_start.astimezone(timezone.utc).isoformat(timespec="seconds")
    events_month = scalar(conn, "SELECT COUNT(*) FROM score_events WHERE pilot_code = :code "
                                "AND recorded_at >= :since", code=code, since=since)
    caps = {t: r["grade_cap"] for t, r in pilot["rules"].items() if r.get("grade_cap")}
    distribution = {b["grade"]: 0 for b in pilot["grade_bands"]}
    standings = rows(conn, _standings_sql(), code=code, capping=list(caps) or [""])
    for row in standings:
        band = grade_for(pilot, pilot["base_score"] + row["total"], caps.get(row["capped"]))
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


def _standings_sql():
    # Each enrolled resident's total and the capping event they have, if any.
    return sql(
        "SELECT e.id_number, COALESCE(SUM(s.delta), 0) AS total, "
        "MAX(CASE WHEN s.event_type IN :capping THEN s.event_type END) AS capped "
        "FROM enrolments e LEFT JOIN score_events s "
        "ON s.pilot_code = e.pilot_code AND s.id_number = e.id_number "
        "WHERE e.pilot_code = :code AND e.state = 'in' GROUP BY e.id_number",
        "capping",
    )


def purge_closed(conn: Connection, today: date, actor: str = "system:purge-closed-pilots",
                 retention_days: int = RETENTION_DAYS) -> list[tuple[str, int]]:
    """Erase score events of pilots closed at least `retention_days` ago. Safe to run
    repeatedly: a purged pilot has no events left and is skipped."""
    done = []
    for pilot in rows(conn, "SELECT code, closed_at FROM pilots "
                            "WHERE status = 'closed' AND closed_at IS NOT NULL"):
        closed_on = datetime.fromisoformat(pilot["closed_at"]).date()
        if today < closed_on + timedelta(days=retention_days):
            continue
        with write_transaction(conn):
            erased = execute(conn, "DELETE FROM score_events WHERE pilot_code = :code",
                             code=pilot["code"]).rowcount
            if erased:
                execute(conn, "UPDATE pilots SET purged_at = :day WHERE code = :code",
                        day=today.isoformat(), code=pilot["code"])
                audit.record(conn, actor, "pilot_closed_purge", None,
                             {"pilot": pilot["code"], "note": f"erased {erased} events",
                              "count": erased})
        done.append((pilot["code"], erased))
    return done


# Candidates are read and written this many at a time: a city's pilot enrols millions,
# whose rows would not fit in memory at once (25 million residents took 20 GB).
SEED_BATCH = 50_000
_SEED_CANDIDATES_SQL = (
    "SELECT r.id_number FROM residents r WHERE r.region_code LIKE :region || '%' "
    "AND r.birth_date <= :adult AND r.id_number > :after AND NOT EXISTS ("
    "SELECT 1 FROM enrolments e WHERE e.pilot_code = :code AND e.id_number = r.id_number) "
    # Residents with accounts (the demo personas) keep their documented state.
    "AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id_number = r.id_number) "
    "ORDER BY r.id_number LIMIT :limit")


def seed_pilot_events(conn: Connection, code: str, share: float, seed: int, today: date,
                      events_per_resident: int = 8) -> tuple[int, int]:
    """Bench and demo data: enrol `share` of the adult residents in the pilot's region who
    are not enrolled yet and have no account (personas keep their state), each with a few
    events from rules that have a legal basis. Deterministic for a given seed; one
    transaction, written SEED_BATCH candidates at a time. Returns (enrolled, events)."""
    pilot = get_pilot(conn, code)
    if pilot is None:
        raise PilotError("unknown_pilot")
    usable = [t for t, r in pilot["rules"].items() if rule_applicable(r)]
    rng = random.Random(seed)
    adult = today.replace(year=today.year - 18).isoformat()
    since = today - timedelta(days=730)
    at = datetime(since.year, since.month, since.day, 2, 0).isoformat() + "+00:00"
    enrolled = written_events = 0
    after = ""
    adults = scalar(conn, "SELECT count(*) FROM residents WHERE region_code LIKE :region || '%' "
                          "AND birth_date <= :adult", region=pilot["region_code"], adult=adult)
    with write_transaction(conn), progress(adults, "Enrolling residents") as bar:
        # In ID order, after the last batch: the rows this writes never come back.
        while batch := rows(conn, _SEED_CANDIDATES_SQL, region=pilot["region_code"],
                            adult=adult, code=code, after=after, limit=SEED_BATCH):
            after = batch[-1]["id_number"]
            bar.update(len(batch))
            enrolments, history, events = [], [], []
            for candidate in batch:
                id_number = candidate["id_number"]
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
                        "reason": pilot["rules"][event_type]["label_zh"] + "（生成）",
                        "source": "基准测试生成",
                        "occurred_on": occurred.isoformat(),
                        "recorded_at": occurred.isoformat() + "T03:00:00+00:00",
                    })
            insert_many(conn, "enrolments", enrolments)
            insert_many(conn, "enrolment_history", history)
            insert_many(conn, "score_events", events)
            enrolled += len(enrolments)
            written_events += len(events)
        audit.record(conn, "system:seed-pilot-events", "pilot_events_seeded", None,
                     {"pilot": code, "enrolled": enrolled, "events": written_events})
    return enrolled, written_events
