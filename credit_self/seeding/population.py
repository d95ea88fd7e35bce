"""A deterministic synthetic population: residents with checksum-valid IDs, entries on
every list at realistic rates, and Rongcheng pilot members with score events.

The same (residents, seed, today) always gives the same rows: one `random.Random(seed)`
drives everything. Every generated ID uses a sequence code from 001 to 899; the demo
personas use 9xx codes, so they never collide with a generated resident.
"""
from __future__ import annotations

import functools
import itertools
import json
import random
from zlib import crc32
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

from sqlalchemy import Connection
from stdnum.cn import ric

from ..db import rows, scalar, write_transaction
from ..identity import with_check_digit
from ..progress import progress
from ..records.rules import LIST_TIER
from . import bulk, facts, names
from .tables import table

FIRST_BIRTH_YEAR = 1940
LAST_BIRTH_YEAR = 2008
# Generated residents use sequence codes 001-899; 900-999 are kept for the personas.
MAX_GENERATED_SEQUENCE = 899
CHECK_CHARACTERS = "0123456789X"
RESIDENT_COLUMNS = ("id_number", "name", "birth_date", "sex", "region_code", "phone")
Resident = tuple  # (id_number, name, birth_date, sex, region_code, phone)


@functools.cache
def valid_birth_years(region_code: str) -> tuple[int, ...]:
    """Birth years for which stdnum accepts this region code.

    Some districts did not exist before a certain year (Minhang 1981, Baoshan 1988,
    Rongcheng 1989, Pudong 1992), and an ID that claims otherwise fails validation.
    """
    return tuple(
        year
        for year in range(FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR + 1)
        if ric.is_valid(with_check_digit(f"{region_code}{year}0701001"))
        and ric.is_valid(with_check_digit(f"{region_code}{year}0101001"))
    )


def _birth_year_weight(year: int) -> float:
    """A rough age pyramid for a Chinese city in the 2020s."""
    for before, weight in ((1950, 0.45), (1960, 1.0), (1970, 1.45), (1980, 1.2),
                           (1990, 1.4), (2000, 1.15)):
        if year < before:
            return weight
    return 0.85


def adult_from(birth_iso: str, age: int = 18) -> date:
    born = date.fromisoformat(birth_iso)
    try:
        return born.replace(year=born.year + age)
    except ValueError:  # 29 February
        return born.replace(year=born.year + age, day=28)


def iso_at(day: date, hour: int = 9, minute: int = 0) -> str:
    """A UTC timestamp on `day`, in the format `clock.iso_now()` stores."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.utc).isoformat()


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class EntryMaker:
    """Builds entry rows, and the history row of each closed one, with unique document
    numbers. Ids are assigned here so the history can point at its entry."""

    def __init__(self, rng: random.Random, today: date, lists: dict[str, dict],
                 first_id: int = 1, document_start: int | None = None):
        self.rng = rng
        self.today = today
        self.lists = lists
        self.docs = facts.DocumentNumbers(rng, document_start)
        self.entries: list[dict] = []
        self.history: list[dict] = []
        self.next_id = first_id
        self.made: dict[str, int] = {}  # entries made per list, for the forced statuses
        self.last_context: dict = {}  # the court case of the last entry, for its twin
        self.profiles = table("profiles")

    def make(self, list_code: str, holder: Resident, *, context: dict | None = None,
             listed_on: date | None = None, recorded: tuple | None = None,
             status: str | None = None, changed_on: date | None = None,
             expires_on: date | None | bool = True) -> dict | None:
        """Add one entry about `holder`; None when the holder is too young to be listed.

        Without `status` the outcome is rolled: mostly listed (active or expired by its
        dates), sometimes withdrawn or restored early. The second and third entry made
        on each list are forced withdrawn and restored, so every group exists even in a
        small population. `expires_on=True` means "from the list's default period".
        """
        rng, today = self.rng, self.today
        id_number, name, birth_iso, sex, region, _phone = holder
        spec = self.lists[list_code]
        adult = adult_from(birth_iso)
        if listed_on is None:
            window = self.profiles["list_window_days"].get(list_code,
                                                           self.profiles["focus_window_days"])
            listed_on = today - timedelta(days=rng.randint(1, window))
        if listed_on < adult:
            if adult >= today:
                return None
            listed_on = adult + timedelta(days=rng.randint(0, (today - adult).days - 1))
        context = dict(context or {})
        if list_code in ("judgment_defaulter", "restricted_consumption") and "case" not in context:
            context.update(facts.court_case(rng, self.docs, region, listed_on))
        if expires_on is True:
            days = spec["default_days"]
            if list_code == "judgment_defaulter":
                days = context["ground"][2]
            elif list_code == "procurement_dishonesty":
                context.setdefault("years", rng.choice([1, 1, 2, 3]))
                days = 365 * context["years"]
            expires_on = listed_on + timedelta(days=days) if days else None
        elif list_code == "procurement_dishonesty":
            context.setdefault("years", 1)

        if status is None:
            status, changed_on = self._roll_status(list_code, spec, listed_on, expires_on)
        facts_en, facts_zh = facts.facts_for(rng, list_code, region, listed_on, context)
        if "case" in context:
            document_no = context["case"]
            agency_en, agency_zh = context["court"][:2]
        else:
            document_no = self.docs.next(list_code, region, listed_on.year)
            agency_en, agency_zh = facts.agency(list_code, region)
        rec_name, rec_sex, rec_birth, rec_region = recorded or (name, sex, birth_iso, region)
        entry = {
            "id": self.next_id,
            "list_code": list_code,
            "id_number": id_number,
            "recorded_name": rec_name,
            "recorded_sex": rec_sex,
            "recorded_birth_year": int(rec_birth[:4]),
            "recorded_region_code": rec_region,
            "tier": LIST_TIER[list_code],
            "facts_en": facts_en,
            "facts_zh": facts_zh,
            "document_no": document_no,
            "source_agency_en": agency_en,
            "source_agency_zh": agency_zh,
            "listed_on": listed_on.isoformat(),
            "expires_on": expires_on.isoformat() if expires_on else None,
            "status": status,
            "updated_at": iso_at(changed_on or listed_on, rng.randint(1, 9), rng.randint(0, 59)),
        }
        self.next_id += 1
        self.entries.append(entry)
        self.last_context = context
        if status != "listed":
            self.history.append({
                "entry_id": entry["id"],
                "at": entry["updated_at"],
                "actor": f"source:{agency_zh}",
                "field": "status",
                "old_value": "listed",
                "new_value": status,
                "reason": facts.closing_reason(list_code, spec["kind"], status),
            })
        return entry

    def _roll_status(self, list_code: str, spec: dict, listed_on: date,
                     expires_on: date | None) -> tuple[str, date | None]:
        rng = self.rng
        n = self.made.get(list_code, 0)
        self.made[list_code] = n + 1
        p_withdrawn = self.profiles["p_withdrawn"]
        p_restored = self.profiles["p_restored"].get(list_code, 0.0)
        roll = rng.random()
        if n == 1 or (n != 2 and roll < p_withdrawn):
            status = "withdrawn"
        elif (n == 2 and p_restored) or (n != 2 and roll < p_withdrawn + p_restored):
            status = "restored"
        else:
            return "listed", None
        earliest = listed_on + timedelta(days=7 if status == "withdrawn" else 30)
        if status == "restored" and spec["restoration_min_days"]:
            earliest = listed_on + timedelta(days=spec["restoration_min_days"])
        latest = (min(expires_on, self.today) if expires_on else self.today) - timedelta(days=1)
        if earliest > latest:
            return "listed", None
        return status, earliest + timedelta(days=rng.randint(0, (latest - earliest).days))


# ---------------------------------------------------------------------------------
# Scoring pilot: Rongcheng enrolments and events
# ---------------------------------------------------------------------------------


def score_event(pilot: str, rules: dict, id_number: str, event_type: str, reason: str,
                occurred: date, recorded: date, hour: int, minute: int) -> dict:
    return {
        "pilot_code": pilot,
        "id_number": id_number,
        "event_type": event_type,
        "delta": int(rules[event_type]["points"]),
        "reason": reason,
        "source": table("pilot_events")["details"][event_type]["source"],
        "occurred_on": occurred.isoformat(),
        "recorded_at": iso_at(recorded, hour, minute),
    }


def _random_score_events(rng: random.Random, pilot: str, rules: dict, id_number: str,
                         since: date, today: date, count: int) -> list[dict]:
    """Events after the opt-in, drawn only from rules that name a legal basis."""
    weights_by_type = table("pilot_events")["weights"]
    details = table("pilot_events")["details"]
    usable = [t for t in weights_by_type if rules.get(t, {}).get("legal_basis_en")]
    weights = [weights_by_type[t] for t in usable]
    span = (today - since).days
    events = []
    for _ in range(count):
        event_type = rng.choices(usable, weights=weights)[0]
        occurred = since + timedelta(days=rng.randint(1, max(1, span - 1)))
        recorded = min(today, occurred + timedelta(days=rng.randint(0, 3)))
        events.append(score_event(pilot, rules, id_number, event_type,
                                  rng.choice(details[event_type]["reasons"]), occurred,
                                  recorded, rng.randint(1, 9), rng.randint(0, 59)))
    events.sort(key=lambda e: e["occurred_on"])
    return events


def pilot_rules(conn: Connection, code: str) -> dict | None:
    found = scalar(conn, "SELECT rules FROM pilots WHERE code = :code", code=code)
    return json.loads(found) if found else None


# ---------------------------------------------------------------------------------
# Population
# ---------------------------------------------------------------------------------


def _split(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Split `total` into integer counts proportional to `shares` (largest remainder)."""
    weight = sum(shares.values())
    exact = {k: total * v / weight for k, v in shares.items()}
    counts = {k: int(v) for k, v in exact.items()}
    rest = total - sum(counts.values())
    for k in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[:rest]:
        counts[k] += 1
    return counts


# A region's generated ID numbers fill at most this share of the ones it can have (its
# birth days × sequence numbers): drawing keys at random slows down as the space fills,
# and never ends when the region is asked for more than there are.
MAX_REGION_FILL = 0.5


@functools.cache
def region_capacity(region_code: str) -> int:
    """How many distinct generated ID numbers a region can have."""
    years = valid_birth_years(region_code)
    days = sum(date(y, 12, 31).toordinal() - date(y, 1, 1).toordinal() + 1 for y in years)
    return days * MAX_GENERATED_SEQUENCE


def _fit_to_capacity(counts: dict[str, int]) -> dict[str, int]:
    """`counts` with each region kept within MAX_REGION_FILL of its capacity, the excess
    going to regions with room, in proportion to it. At a city's size the young districts
    overflow (Pudong's code exists only from 1992: 5.6 million numbers, while its share of
    25 million residents is 7.4 million); at a million nothing moves."""
    caps = {region: int(region_capacity(region) * MAX_REGION_FILL) for region in counts}
    if sum(counts.values()) > sum(caps.values()):
        raise ValueError(f"at most {sum(caps.values()):,} residents fit the generated ID numbers")
    counts = dict(counts)
    while excess := sum(max(0, counts[r] - caps[r]) for r in counts):
        counts = {r: min(n, caps[r]) for r, n in counts.items()}
        room = {r: caps[r] - n for r, n in counts.items() if caps[r] > n}
        for region, extra in _split(excess, room).items():
            counts[region] += extra
    return counts


def _region_keys(rng: random.Random, region: str, count: int) -> list[int]:
    """`count` distinct sorted keys `birth_day_ordinal * 1000 + sequence` for a region.

    Sorted keys give IDs in ascending order, which makes the primary-key inserts
    appends instead of random B-tree writes (about three times faster).
    """
    years = valid_birth_years(region)
    cum = list(itertools.accumulate(_birth_year_weight(y) for y in years))
    starts = {y: date(y, 1, 1).toordinal() for y in years}
    lengths = {y: date(y, 12, 31).toordinal() - starts[y] + 1 for y in years}
    keys: set[int] = set()
    randrange = rng.randrange
    while len(keys) < count:
        for year in rng.choices(years, cum_weights=cum, k=count - len(keys)):
            keys.add((starts[year] + randrange(lengths[year])) * 1000
                     + randrange(1, MAX_GENERATED_SEQUENCE + 1))
    return sorted(keys)


def generate_population(conn: Connection, residents: int, seed: int, today: date) -> dict[str, int]:
    """Write `residents` synthetic residents with entries, enrolments and score events.

    Run it once, after `load_catalog`, on an empty register (the CLI refuses a populated
    one). Everything is written in one transaction.
    """
    rng = random.Random(seed)
    profiles = table("profiles")
    place_table = facts.places()
    rongcheng = place_table["rongcheng"]
    lists = {row["code"]: row for row in rows(conn, "SELECT * FROM lists")}
    missing = {code for codes in profiles["lists"].values() for code in codes} - set(lists)
    if missing:
        raise ValueError(f"load the catalog first: lists missing {sorted(missing)}")
    rongcheng_rules = pilot_rules(conn, "rongcheng")

    # Region sizes, and who holds which kind of entry, are decided up front so the
    # resident rows can stream straight into the database.
    shanghai = {code: region["share"] for code, region in place_table["regions"].items()
                if code != rongcheng}
    region_counts = _split(round(residents * (1 - place_table["rongcheng_share"])), shanghai)
    region_counts[rongcheng] = residents - sum(region_counts.values())
    region_counts = _fit_to_capacity(region_counts)
    profile_counts = {p: max(1, round(residents * r)) for p, r in profiles["rates"].items()}
    # Twice as many candidates as holders, so each profile can keep the ones of a
    # plausible age (no 80-year-old ride-hailing drivers).
    chosen = rng.sample(range(residents), min(residents, 2 * sum(profile_counts.values())))
    candidate_of: dict[int, str] = {}
    position = 0
    for profile, count in profile_counts.items():
        for index in chosen[position:position + 2 * count]:
            candidate_of[index] = profile
        position += 2 * count
    # Besides the many natural namesakes (张伟, 王芳 ...), one resident in 400 gets the
    # exact name of a recent resident of the same sex.
    namesakes = set(rng.sample(range(residents), min(residents, max(2, residents // 400))))

    candidates: list[tuple[str, Resident]] = []
    to_enrol: list[tuple[str, str]] = []  # (id_number, birth_date)
    adult_cutoff = _years_before(today, 18).isoformat()
    enrol_share = table("pilot_events")["enrol_share"]

    def resident_rows(bar) -> Iterator[tuple]:
        days: dict[int, tuple[str, str, int]] = {}
        recent = {"M": ["张伟", "王伟", "李伟"], "F": ["王芳", "李静", "张敏"]}
        given = {(sex, c): names.Picker(names.given_names(sex, c)) for sex in "MF" for c in range(4)}
        prefixes = names.phone_prefixes()
        random_, getrandbits = rng.random, rng.getrandbits
        index = 0
        for region in sorted(region_counts):
            surnames = names.Picker(names.surnames("rc" if region == rongcheng else "sh"))
            is_rongcheng = region == rongcheng
            for key in _region_keys(rng, region, region_counts[region]):
                ordinal, seq = divmod(key, 1000)
                day = days.get(ordinal)
                if day is None:
                    d = date.fromordinal(ordinal)
                    day = days[ordinal] = (d.strftime("%Y%m%d"), d.isoformat(), d.year)
                first17 = f"{region}{day[0]}{seq:03d}"
                # ISO 7064 MOD 11-2, as stdnum.cn.ric.calc_check_digit computes it (a
                # million calls to stdnum would double the time to seed).
                id_number = first17 + CHECK_CHARACTERS[(1 - 2 * int(first17, 13)) % 11]
                sex = "M" if seq & 1 else "F"
                pool = recent[sex]
                if index in namesakes:
                    name = pool[getrandbits(16) % len(pool)]
                else:
                    name = surnames.pick(random_()) + given[sex, names.cohort(day[2])].pick(random_())
                    if len(pool) < 256:
                        pool.append(name)
                    else:
                        pool[getrandbits(8)] = name
                bits = getrandbits(24)
                # The middle four digits come from the ID number, not the generator, so
                # the rest of the population stays as it was before phones were whole.
                phone = (f"{prefixes[bits % len(prefixes)]}{crc32(id_number.encode()) % 10000:04d}"
                         f"{(bits >> 6) % 10000:04d}")
                row = (id_number, name, day[1], sex, region, phone)
                profile = candidate_of.get(index)
                if profile is not None:
                    candidates.append((profile, row))
                if is_rongcheng and day[1] <= adult_cutoff and random_() < enrol_share:
                    to_enrol.append((id_number, day[1]))
                index += 1
                if index % 10_000 == 0:
                    bar.update(10_000)
                yield row

    counts: dict[str, int] = {}
    with bulk.fast_sqlite_load(conn), write_transaction(conn):
        with bulk.indexes_rebuilt_after(conn, "residents"), \
                progress(residents, "Generating residents") as bar:
            counts["residents"] = bulk.load(conn, "residents", RESIDENT_COLUMNS, resident_rows(bar))

        first_id = (scalar(conn, "SELECT max(id) FROM entries") or 0) + 1
        maker = EntryMaker(rng, today, lists, first_id)
        for profile, holder in _pick_holders(candidates, profile_counts, today):
            _entries_for_profile(conn, maker, profile, holder)
        with bulk.indexes_rebuilt_after(conn, "entries"):
            counts["entries"] = bulk.load_dicts(conn, "entries", maker.entries)
        bulk.load_dicts(conn, "entry_history", maker.history)
        bulk.continue_ids(conn, "entries")

        enrolments, enrolment_history, events = [], [], []
        if rongcheng_rules is not None:
            for id_number, birth_iso in to_enrol:
                first = max(adult_from(birth_iso), today - timedelta(days=1100))
                if first >= today - timedelta(days=30):
                    continue
                joined = first + timedelta(days=rng.randint(0, (today - first).days - 30))
                at = iso_at(joined, rng.randint(0, 12), rng.randint(0, 59))
                enrolments.append({"pilot_code": "rongcheng", "id_number": id_number,
                                   "state": "in", "changed_at": at})
                enrolment_history.append({
                    "pilot_code": "rongcheng", "id_number": id_number, "old_state": None,
                    "new_state": "in", "at": at, "actor": f"resident:{id_number}",
                    "note": "Opted in with informed consent"})
                events += _random_score_events(rng, "rongcheng", rongcheng_rules, id_number,
                                               joined, today, rng.choice((0, 1, 2, 3, 3, 4, 5, 6)))
        counts["enrolments"] = bulk.load_dicts(conn, "enrolments", enrolments)
        bulk.load_dicts(conn, "enrolment_history", enrolment_history)
        counts["score_events"] = bulk.load_dicts(conn, "score_events", events)
    return counts


def _pick_holders(candidates: list[tuple[str, Resident]], counts: dict[str, int],
                  today: date) -> list[tuple[str, Resident]]:
    """Per profile, the first `count` candidates of a plausible age (any age if short)."""
    ages = table("profiles")["ages"]
    picked = []
    for profile, count in counts.items():
        pool = [row for p, row in candidates if p == profile]
        low, high = ages[profile]
        fits, rest = [], []
        for row in pool:
            (fits if low <= today.year - int(row[2][:4]) <= high else rest).append(row)
        picked += [(profile, row) for row in (fits + rest)[:count]]
    return picked


def _entries_for_profile(conn: Connection, maker: EntryMaker, profile: str,
                         holder: Resident) -> None:
    rng = maker.rng
    profiles = table("profiles")
    if profile == "focus_three":
        # Three departments' lists at once, all in force: the case the platform flags.
        for code in rng.sample(profiles["focus_lists"], 3):
            maker.make(code, holder, status="listed",
                       listed_on=maker.today - timedelta(days=rng.randint(5, 300)))
        return
    codes = profiles["lists"][profile]
    recorded = None
    if maker.lists[codes[0]]["kind"] != "redlist" and rng.random() < profiles["p_mixup"]:
        recorded = _namesake_identifiers(conn, holder)
    first = maker.make(codes[0], holder, recorded=recorded)
    if first is None or len(codes) == 1:
        return
    # A debtor's restriction order comes from the same enforcement case and stays until
    # the judgment is performed, when both entries close together.
    restored = first["status"] == "restored"
    maker.make(codes[1], holder, context=maker.last_context, recorded=recorded,
               listed_on=date.fromisoformat(first["listed_on"]),
               status="restored" if restored else "listed",
               changed_on=date.fromisoformat(first["updated_at"][:10]) if restored else None)


def _namesake_identifiers(conn: Connection, holder: Resident) -> tuple | None:
    """(name, sex, birth date, region) of another resident with the same name, whose
    identifiers a department might record by mistake; None if there is none."""
    for other in rows(conn, "SELECT name, sex, birth_date, region_code FROM residents "
                            "WHERE name = :name AND id_number != :id_number "
                            "ORDER BY id_number LIMIT 5", name=holder[1], id_number=holder[0]):
        if (other["birth_date"][:4], other["region_code"]) != (holder[2][:4], holder[4]):
            return (other["name"], other["sex"], other["birth_date"], other["region_code"])
    return None
