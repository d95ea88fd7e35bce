"""The seed: catalog files, the synthetic population, the demo personas and the CLI,
each on a new, empty database of the engine under test."""
import json
import os
import re
from datetime import date, timedelta
from itertools import count

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from stdnum.cn import ric

from credit_self import schema, seeding
from credit_self.db import engine_for, make_engine, normalised_url, sqlite_url
from credit_self.seeding import facts, population
from tests.conftest import ON_POSTGRESQL, POSTGRESQL_URL, DatabaseForTests, make_test_app

TODAY = date(2026, 11, 22)
N = 2000
FIRST_YEAR, LAST_YEAR = population.FIRST_BIRTH_YEAR, population.LAST_BIRTH_YEAR
TABLES = ("residents", "entries", "entry_history", "enrolments", "enrolment_history",
          "score_events")
_database_names = count(1)


class EmptyDatabases:
    """New databases with nothing in them (a file on SQLite, a database on PostgreSQL),
    and the test's connections to them; all closed, and dropped, by `close`."""

    def __init__(self, directory) -> None:
        self.directory = directory
        self.urls: list[str] = []
        self.connections: list[DatabaseForTests] = []

    def new(self) -> str:
        name = f"cs_seeding_{os.getpid()}_{next(_database_names)}"
        if ON_POSTGRESQL:
            _on_server(f'CREATE DATABASE "{name}" TEMPLATE template0 '
                       "ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
            url = make_url(POSTGRESQL_URL).set(database=name).render_as_string(hide_password=False)
        else:
            url = sqlite_url(self.directory / f"{name}.db")
        self.urls.append(url)
        return url

    def open(self, url: str) -> DatabaseForTests:
        self.connections.append(DatabaseForTests(url))
        return self.connections[-1]

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        if ON_POSTGRESQL:
            for url in self.urls:
                _on_server(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _on_server(statement: str) -> None:
    """CREATE or DROP DATABASE, through the server's admin database."""
    engine = create_engine(normalised_url(POSTGRESQL_URL), poolclass=NullPool,
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as admin:
        admin.exec_driver_sql(statement)
    engine.dispose()


@pytest.fixture
def empty(tmp_path):
    made = EmptyDatabases(tmp_path)
    yield made
    made.close()


def populated(empty: EmptyDatabases, residents: int = N, seed: int = 11,
              personas: bool = True, catalog_only: bool = False) -> DatabaseForTests:
    """A new database with the schema, the catalog and (unless `catalog_only`) a
    population; the test's connection to it."""
    url = empty.new()
    engine = make_engine(url)
    schema.upgrade(engine)
    with engine.connect() as conn:
        seeding.load_catalog(conn)
        if not catalog_only:
            seeding.generate_population(conn, residents, seed=seed, today=TODAY)
            if personas:
                seeding.create_personas(conn, TODAY)
    engine.dispose()
    return empty.open(url)


def dump(db) -> dict[str, list[tuple]]:
    return {t: [tuple(r.values()) for r in db.query(f"SELECT * FROM {t} ORDER BY 1, 2")]
            for t in TABLES}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    made = EmptyDatabases(tmp_path_factory.mktemp("seed"))
    yield populated(made)
    made.close()


def rows(db, sql, params=()):
    return db.query(sql, list(params))


def persona_id(name):
    return next(p["id_number"] for p in seeding.PERSONAS if p["persona"] == name)


def state(entry, today=TODAY):
    """active / expired / closed, by the rule in DESIGN.md."""
    if entry["status"] != "listed":
        return "closed"
    if entry["expires_on"] and entry["expires_on"] <= today.isoformat():
        return "expired"
    return "active"


# --- determinism ---------------------------------------------------------------------


def test_same_arguments_give_identical_rows(empty):
    first = populated(empty, 1500, seed=5, personas=False)
    second = populated(empty, 1500, seed=5, personas=False)
    assert dump(first) == dump(second)
    assert len(dump(first)["entries"]) > 0


def test_a_different_seed_gives_different_rows(empty):
    first = populated(empty, 1500, seed=5, personas=False)
    other = populated(empty, 1500, seed=6, personas=False)
    assert dump(first)["residents"] != dump(other)["residents"]
    assert first.count("residents") == other.count("residents") == 1500


# --- residents -----------------------------------------------------------------------


def test_every_id_validates_and_matches_its_columns(db):
    residents = rows(db, "SELECT * FROM residents")
    assert len(residents) == N + len(seeding.PERSONAS) + 1  # + the mix-up namesake
    for r in residents:
        number = r["id_number"]
        assert ric.validate(number) == number
        assert ric.get_birth_date(number).isoformat() == r["birth_date"]
        assert r["sex"] == ("M" if int(number[16]) % 2 else "F")
        assert r["region_code"] == number[:6]
        assert FIRST_YEAR <= int(r["birth_date"][:4]) <= LAST_YEAR
        assert re.fullmatch(r"1[3-9]\d{9}", r["phone"])


def test_fast_check_digit_agrees_with_stdnum(db):
    # The generator computes check digits itself (stdnum per ID would double the time
    # to seed): every one it wrote must be the one stdnum computes.
    numbers = [r["id_number"] for r in rows(db, "SELECT id_number FROM residents")]
    assert len(numbers) > N
    wrong = [n for n in numbers if n[17] != ric.calc_check_digit(n)]
    assert wrong == []


def test_districts_only_hold_birth_years_they_existed_for():
    assert min(population.valid_birth_years("310115")) == 1992  # Pudong New Area
    assert min(population.valid_birth_years("371082")) == 1989  # Rongcheng
    assert min(population.valid_birth_years("310104")) == FIRST_YEAR


def test_a_city_sized_population_fits_its_districts_id_numbers():
    """25 million residents: Pudong's share (7.4M) is more than the ID numbers its code
    can have since 1992 (5.6M); seeding once looped for ever there."""
    places = facts.places()
    rongcheng = places["rongcheng"]
    shanghai = {code: r["share"] for code, r in places["regions"].items() if code != rongcheng}
    for residents in (1_000_000, 25_000_000):
        wanted = population._split(round(residents * (1 - places["rongcheng_share"])), shanghai)
        wanted[rongcheng] = residents - sum(wanted.values())
        fitted = population._fit_to_capacity(wanted)
        assert sum(fitted.values()) == residents
        assert all(n <= population.region_capacity(r) * population.MAX_REGION_FILL
                   for r, n in fitted.items())
        if residents == 1_000_000:
            assert fitted == wanted  # the population every test and benchmark knows
        else:
            assert fitted["310115"] < wanted["310115"] and fitted["310104"] > wanted["310104"]
    with pytest.raises(ValueError, match="at most 2,791,395 residents fit"):
        population._fit_to_capacity({"310115": 3_000_000})


def test_generated_ids_never_use_the_personas_sequence_codes(db):
    persona_ids = {p["id_number"] for p in seeding.PERSONAS} | {seeding.NAMESAKE["id_number"]}
    for r in rows(db, "SELECT id_number FROM residents"):
        if r["id_number"] not in persona_ids:
            assert int(r["id_number"][14:17]) <= population.MAX_GENERATED_SEQUENCE
    assert all(int(i[14:17]) >= 900 for i in persona_ids)


def test_regions_are_shanghai_districts_and_about_ten_percent_rongcheng(db):
    counts = {r["region_code"]: r["n"] for r in rows(
        db, "SELECT region_code, count(*) AS n FROM residents GROUP BY 1")}
    assert set(counts) == set(facts.places()["regions"])
    assert 0.08 < counts["371082"] / sum(counts.values()) < 0.12


def test_names_are_chinese_and_namesakes_occur(db):
    names = rows(db, "SELECT name, count(*) AS n FROM residents GROUP BY name")
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", r["name"]) for r in names)
    shared = [r for r in names if r["n"] > 1]
    assert len(shared) > 20
    assert len(names) > N / 3  # but most names are not shared


# --- entries -------------------------------------------------------------------------


def test_every_list_has_entries(db):
    with_entries = {r["list_code"] for r in rows(db, "SELECT DISTINCT list_code FROM entries")}
    assert with_entries == {r["code"] for r in rows(db, "SELECT code FROM lists")}


def test_a_few_percent_of_residents_have_entries(db):
    holders = db.scalar(
        "SELECT count(DISTINCT id_number) FROM entries WHERE id_number NOT IN "
        f"({','.join('?' * len(seeding.PERSONAS))})",
        [p["id_number"] for p in seeding.PERSONAS])
    assert 0.02 < holders / N < 0.07


def test_entries_in_every_status_group(db):
    entries = rows(db, "SELECT * FROM entries")
    assert {state(e) for e in entries} == {"active", "expired", "closed"}
    assert {e["status"] for e in entries} == {"listed", "withdrawn", "restored"}


def test_document_numbers_are_unique_per_list_and_in_the_courts_style(db):
    entries = rows(db, "SELECT list_code, document_no FROM entries")
    assert len({(e["list_code"], e["document_no"]) for e in entries}) == len(entries)
    for e in entries:
        if e["list_code"] in ("judgment_defaulter", "restricted_consumption"):
            assert re.fullmatch(r"\(20\d\d\)(沪01\d\d|鲁1082)执\d+号", e["document_no"])


def test_entry_dates_follow_the_list_rules(db):
    lists = {r["code"]: r for r in rows(db, "SELECT * FROM lists")}
    for e in rows(db, "SELECT e.*, r.birth_date FROM entries e JOIN residents r USING (id_number)"):
        listed = date.fromisoformat(e["listed_on"])
        assert listed <= TODAY
        assert listed >= date.fromisoformat(e["birth_date"]) + timedelta(days=18 * 365)
        assert e["updated_at"][:10] >= e["listed_on"]
        days = lists[e["list_code"]]["default_days"]
        if e["expires_on"] is None:
            assert days is None or e["list_code"] == "judgment_defaulter"
            continue
        length = (date.fromisoformat(e["expires_on"]) - listed).days
        if e["list_code"] == "judgment_defaulter":
            assert length in (730, 1095)  # 2 years, or extended by 1
        elif e["list_code"] == "procurement_dishonesty":
            assert length in (365, 730, 1095)  # 1 to 3 years
        else:
            assert length == days


def test_entries_carry_the_fields_the_record_page_shows(db):
    for e in rows(db, "SELECT * FROM entries"):
        assert e["tier"] in ("minor", "general", "serious")
        assert e["facts_en"] and e["facts_zh"] and e["source_agency_en"] and e["source_agency_zh"]
        assert re.search(r"[\u4e00-\u9fff]", e["facts_zh"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", e["updated_at"])


def test_closed_entries_have_their_history(db):
    closed = rows(db, "SELECT id, status FROM entries WHERE status != 'listed'")
    history = {r["entry_id"]: r
               for r in rows(db, "SELECT * FROM entry_history WHERE field = 'status'")}
    assert closed
    for e in closed:
        assert history[e["id"]]["new_value"] == e["status"]
        assert history[e["id"]]["old_value"] == "listed" and history[e["id"]]["reason"]


def test_recorded_identifiers_match_the_register_except_mix_ups(db):
    entries = rows(db, """
        SELECT e.*, r.name, r.sex, r.birth_date, r.region_code FROM entries e
        JOIN residents r USING (id_number)""")
    for e in entries:
        assert e["recorded_name"] == e["name"]
        same = (e["recorded_sex"], e["recorded_birth_year"], e["recorded_region_code"]) == (
            e["sex"], int(e["birth_date"][:4]), e["region_code"])
        if not same:
            # A mix-up: the identifiers belong to another resident with the same name.
            assert rows(db, """SELECT 1 FROM residents WHERE name = ? AND id_number != ?
                AND sex = ? AND substr(birth_date, 1, 4) = ? AND region_code = ?""",
                [e["name"], e["id_number"], e["recorded_sex"], str(e["recorded_birth_year"]),
                 e["recorded_region_code"]])


def test_debtors_restriction_order_shares_the_case_number(db):
    pairs = rows(db, """
        SELECT d.document_no FROM entries d JOIN entries r
        ON r.id_number = d.id_number AND r.document_no = d.document_no
        WHERE d.list_code = 'judgment_defaulter' AND r.list_code = 'restricted_consumption'""")
    assert len(pairs) >= 5


def test_someone_is_on_three_focus_lists(db):
    flagged = rows(db, """
        SELECT id_number FROM entries WHERE list_code LIKE 'focus%' AND status = 'listed'
        AND (expires_on IS NULL OR expires_on > ?) GROUP BY id_number
        HAVING count(DISTINCT list_code) >= 3""", [TODAY.isoformat()])
    assert len(flagged) >= 2  # a generated resident and the focus_three persona


# --- scoring pilot -------------------------------------------------------------------


def test_about_thirty_percent_of_adult_rongcheng_residents_opted_in(db):
    adults = db.scalar(
        "SELECT count(*) FROM residents WHERE region_code = '371082' AND birth_date <= ?",
        [(TODAY - timedelta(days=18 * 366)).isoformat()])
    enrolled = rows(db, "SELECT e.*, r.region_code FROM enrolments e JOIN residents r USING (id_number)")
    assert {e["region_code"] for e in enrolled} == {"371082"}
    assert {e["pilot_code"] for e in enrolled} == {"rongcheng"}
    assert {e["state"] for e in enrolled} == {"in"}
    assert 0.15 < len(enrolled) / adults < 0.45
    history = {(h["pilot_code"], h["id_number"]) for h in rows(db, "SELECT * FROM enrolment_history")}
    assert history == {(e["pilot_code"], e["id_number"]) for e in enrolled}


def test_score_events_follow_rules_with_a_legal_basis_after_opt_in(db):
    rules = json.loads(db.scalar("SELECT rules FROM pilots WHERE code = 'rongcheng'"))
    joined = {e["id_number"]: e["changed_at"][:10] for e in rows(db, "SELECT * FROM enrolments")}
    events = rows(db, "SELECT * FROM score_events")
    assert events
    for ev in events:
        rule = rules[ev["event_type"]]
        assert rule["legal_basis_en"] and rule["legal_basis_zh"]
        assert ev["delta"] == rule["points"]
        assert joined[ev["id_number"]] <= ev["occurred_on"] <= TODAY.isoformat()
        assert ev["reason"] and ev["source"]


# --- catalog -------------------------------------------------------------------------


def test_catalog_has_the_promised_lists_and_sanctions(db):
    lists = {r["code"]: r for r in rows(db, "SELECT * FROM lists")}
    assert len(lists) >= 12
    kinds = [r["kind"] for r in lists.values()]
    assert set(kinds) == {"blacklist", "focus", "redlist"}
    focus_authorities = {r["authority_en"] for r in lists.values() if r["kind"] == "focus"}
    assert len(focus_authorities) >= 4
    assert lists["railway_misconduct"]["default_days"] == 180
    assert lists["aviation_misconduct"]["default_days"] == 365
    assert lists["restricted_consumption"]["default_days"] is None
    for r in lists.values():
        assert r["legal_basis_en"] and r["legal_basis_zh"] and r["restoration_en"] and r["restoration_zh"]
        if r["kind"] == "redlist":
            assert r["restoration_min_days"] is None
    assert db.count("sanctions") >= 10
    linked = {r["list_code"] for r in rows(db, "SELECT DISTINCT list_code FROM list_sanctions")}
    assert linked == {c for c, r in lists.items() if r["kind"] == "blacklist"}


def test_pilots_store_rules_and_bands_as_json(db):
    pilots = {r["code"]: r for r in rows(db, "SELECT * FROM pilots")}
    assert pilots["rongcheng"]["region_code"] == "371082" and pilots["rongcheng"]["base_score"] == 1000
    assert pilots["shanghai_civic"]["region_code"] == "3101"
    assert "simulated" in pilots["shanghai_civic"]["name_en"].lower()
    rules = json.loads(pilots["rongcheng"]["rules"])
    assert rules["traffic_ticket"]["points"] == -5 and rules["heroic_act"]["points"] == 30
    without_basis = [code for p in pilots.values() for code, rule in json.loads(p["rules"]).items()
                     if not rule["legal_basis_en"]]
    assert without_basis == ["neighbour_complaint"]
    bands = json.loads(pilots["rongcheng"]["grade_bands"])
    assert [b["grade"] for b in bands] == ["AAA", "AA", "A", "B", "C", "D"]
    assert pilots["rongcheng"]["bands_illustrative"] == 1
    for higher, lower in zip(bands, bands[1:]):
        assert lower["max"] == higher["min"] - 1  # no gaps between bands


def test_holidays_cover_2025_to_2027(db):
    days = {r["day"]: r["kind"] for r in rows(db, "SELECT * FROM holidays")}
    assert days["2025-01-28"] == "holiday"  # Spring Festival eve, 2025
    assert days["2026-02-14"] == "workday"  # Saturday worked before Spring Festival 2026
    assert days["2026-10-07"] == "holiday"
    assert any(d.startswith("2027-") for d in days)
    for day, kind in days.items():
        if kind == "workday":
            assert date.fromisoformat(day).weekday() >= 5


def test_loading_the_catalog_again_changes_nothing_and_keeps_pilot_status(empty):
    db = populated(empty, catalog_only=True)
    db.execute("UPDATE pilots SET status = 'paused' WHERE code = 'rongcheng'")
    tables = ("lists", "sanctions", "list_sanctions", "pilots", "holidays")
    before = {t: db.query(f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables}
    seeding.load_catalog(db)
    assert {t: db.query(f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables} == before
    assert db.scalar("SELECT status FROM pilots WHERE code = 'rongcheng'") == "paused"


# --- personas ------------------------------------------------------------------------


def entries_of(db, persona):
    return rows(db, """SELECT e.*, l.kind FROM entries e JOIN lists l ON l.code = e.list_code
                       WHERE id_number = ? ORDER BY e.id""", [persona_id(persona)])


def test_demo_accounts_have_the_promised_shape():
    accounts = seeding.demo_accounts()
    assert [a["persona"] for a in accounts] == [
        "clean", "defaulter", "train_expiring", "expired_only", "focus_three", "mixup",
        "pilot_member", "new_resident", "pilot_admin", "reviewer", "superadmin"]
    residents = [a for a in accounts if a["role"] == "resident"]
    staff = [a for a in accounts if a["role"] != "resident"]
    assert len(residents) == 8
    for a in residents:
        assert set(a) == {"persona", "id_number", "name", "password", "role"}
        assert ric.is_valid(a["id_number"]) and len(a["password"]) >= 10
    for a in staff:
        assert set(a) == {"persona", "username", "password", "role", "totp_secret"}
        assert a["role"] == a["persona"] and len(a["password"]) >= 10
        assert re.fullmatch(r"[A-Z2-7]{32}", a["totp_secret"])  # base32, 160 bits


def test_personas_are_activated_except_the_new_resident(db):
    from werkzeug.security import check_password_hash

    for p in seeding.PERSONAS:
        account = rows(db, "SELECT * FROM accounts WHERE id_number = ?", [p["id_number"]])
        if p["persona"] == "new_resident":
            assert account == []
            assert db.scalar("SELECT name FROM residents WHERE id_number = ?",
                             [p["id_number"]]) == p["name"]
            continue
        (account,) = account
        assert account["login"] == p["id_number"] and account["role"] == "resident"
        assert account["activated_at"]
        assert check_password_hash(account["password_hash"], p["password"])
    staff = rows(db, "SELECT role, pilot_code FROM accounts WHERE id_number IS NULL ORDER BY role")
    assert [s["role"] for s in staff] == ["pilot_admin", "reviewer", "superadmin"]


def test_clean_persona_has_no_entries(db):
    assert entries_of(db, "clean") == []


def test_defaulter_has_active_blacklist_entries_with_flight_and_rail_bans(db):
    entries = entries_of(db, "defaulter")
    active = [e for e in entries if state(e) == "active"]
    assert {e["list_code"] for e in active} == {"judgment_defaulter", "restricted_consumption"}
    assert any(e["expires_on"] is None and e["list_code"] == "judgment_defaulter" for e in active)
    sanctions = {r["sanction_code"] for r in rows(db, f"""
        SELECT sanction_code FROM list_sanctions WHERE list_code IN
        ({','.join('?' * len(active))})""", [e["list_code"] for e in active])}
    assert {"no_air_travel", "no_premium_rail"} <= sanctions
    assert {state(e) for e in entries} == {"active", "expired", "closed"}


def test_train_expiring_persona_ends_within_two_weeks(db):
    (entry,) = entries_of(db, "train_expiring")
    assert entry["list_code"] == "railway_misconduct" and state(entry) == "active"
    assert 0 < (date.fromisoformat(entry["expires_on"]) - TODAY).days <= 14


def test_expired_only_persona_has_only_expired_entries(db):
    entries = entries_of(db, "expired_only")
    assert len(entries) >= 2 and {state(e) for e in entries} == {"expired"}


def test_focus_three_persona_has_exactly_three_active_focus_entries(db):
    entries = entries_of(db, "focus_three")
    assert len(entries) == 3
    assert all(e["kind"] == "focus" and state(e) == "active" for e in entries)
    assert len({e["list_code"] for e in entries}) == 3


def test_mixup_persona_carries_another_residents_identifiers(db):
    (p,) = rows(db, "SELECT * FROM residents WHERE id_number = ?", [persona_id("mixup")])
    (entry,) = entries_of(db, "mixup")
    assert entry["recorded_name"] == p["name"]
    assert entry["recorded_sex"] != p["sex"]
    assert entry["recorded_birth_year"] != int(p["birth_date"][:4])
    assert entry["recorded_region_code"] != p["region_code"]
    namesakes = rows(db, "SELECT * FROM residents WHERE name = ? AND id_number != ?",
                     [p["name"], p["id_number"]])
    assert any((n["sex"], int(n["birth_date"][:4]), n["region_code"]) == (
        entry["recorded_sex"], entry["recorded_birth_year"], entry["recorded_region_code"])
        for n in namesakes)


def test_pilot_member_is_enrolled_with_a_year_of_events(db):
    member = persona_id("pilot_member")
    assert member.startswith("371082")
    (enrolment,) = rows(db, "SELECT * FROM enrolments WHERE id_number = ?", [member])
    assert enrolment["pilot_code"] == "rongcheng" and enrolment["state"] == "in"
    events = rows(db, "SELECT * FROM score_events WHERE id_number = ?", [member])
    assert len(events) == 8
    assert all(e["reason"] and e["source"] for e in events)
    assert min(e["occurred_on"] for e in events) >= (TODAY - timedelta(days=366)).isoformat()


# --- CLI -----------------------------------------------------------------------------


@pytest.fixture
def app(empty):
    """The app on a new, empty database (`flask seed` makes the schema itself)."""
    made = make_test_app(empty.new())
    yield made
    engine_for(made).dispose()


def test_seed_command_fills_an_empty_database(app, empty):
    result = app.test_cli_runner().invoke(
        args=["seed", "--residents", "300", "--seed", "3", "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert re.search(r"residents\s+300", result.output) and "Done in" in result.output
    db = empty.open(app.config["DATABASE_URL"])
    assert db.count("residents") == 300 + len(seeding.PERSONAS) + 1
    # The personas' accounts and demo rows are audited as they are made; the seed
    # itself is the last row, with what it made.
    last = db.query("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1")[0]
    assert last["action"] == "seed"
    assert json.loads(last["detail"])["residents"] == 300
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'seed'") == 1


def test_seed_refuses_a_populated_database(app, empty):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed", "--residents", "300"])
    db = empty.open(app.config["DATABASE_URL"])
    before = dump(db)
    result = runner.invoke(args=["seed", "--residents", "300", "--seed", "9"])
    assert result.exit_code == 1
    assert "never overwrites" in result.output
    assert dump(db) == before


def test_seed_if_empty_is_a_no_op_on_a_seeded_database(app, empty):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed", "--residents", "300"])
    db = empty.open(app.config["DATABASE_URL"])
    before = dump(db)
    result = runner.invoke(args=["seed", "--residents", "300", "--if-empty"])
    assert result.exit_code == 0
    assert "already seeded" in result.output
    assert dump(db) == before


def test_demo_accounts_json(app):
    result = app.test_cli_runner().invoke(args=["demo-accounts", "--json"])
    assert result.exit_code == 0
    accounts = json.loads(result.output)
    assert accounts == seeding.demo_accounts()
    assert all(list(a) == ["persona", "id_number", "name", "password", "role"]
               for a in accounts if a["role"] == "resident")
    assert [list(a) for a in accounts if a["role"] != "resident"] == [
        ["persona", "username", "password", "role", "totp_secret"]] * 3


def test_demo_accounts_table_names_every_persona(app):
    result = app.test_cli_runner().invoke(args=["demo-accounts"])
    assert result.exit_code == 0
    for p in seeding.PERSONAS:
        assert p["persona"] in result.output and p["id_number"] in result.output
    for a in seeding.ADMIN_ACCOUNTS:
        assert a["login"] in result.output and a["totp_secret"] in result.output
