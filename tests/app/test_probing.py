"""Probing other residents' records by id: the same 404 whether or not the id exists,
throttled per account, and recorded as the prober's own security events, never in
another resident's "Who looked"."""
import re

from limits import parse

from tests.conftest import AuthActions, make_test_app, persona

DEFAULTER = persona("defaulter")["id_number"]
MIXUP = persona("mixup")["id_number"]


def _last_seq(db) -> int:
    return db.scalar("SELECT max(seq) FROM audit_log")


def _own_entry(db, id_number: str) -> int:
    return db.scalar("SELECT min(id) FROM entries WHERE id_number = ?", [id_number])


def _comparable(response, path: str) -> str:
    """The page without what differs on every response (CSP nonce, CSRF token, the idle
    warning's seconds left) or repeats the address (the language links)."""
    return re.sub(r'(nonce|value|data-idle-seconds-left)="[^"]*"', "",
                  response.get_data(as_text=True)).replace(path, "")


def test_probing_300_ids_is_throttled_and_kept_to_the_prober(database_url, db):
    app = make_test_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    limit = parse(app.config["PROBE_RATE_LIMIT"]).amount  # as shipped: 10 per hour
    client = app.test_client()
    AuthActions(client).login("defaulter")
    own = {row["id"] for row in db.query("SELECT id FROM entries WHERE id_number = ?", [DEFAULTER])}
    start = _last_seq(db)
    statuses = {}
    for entry_id in range(1, 301):
        statuses[entry_id] = client.get(f"/me/entries/{entry_id}").status_code
    probed = [statuses[i] for i in sorted(statuses) if i not in own]
    assert probed[:limit] == [404] * limit
    assert set(probed[limit:]) == {429}
    # The resident's own entries still open while their probing is throttled.
    assert all(statuses[i] == 200 for i in own if i <= 300)
    assert client.get(f"/me/entries/{_own_entry(db, DEFAULTER)}").status_code == 200
    # Corrections count towards the same limit.
    other_case = db.scalar("SELECT id FROM corrections WHERE id_number = ?", [MIXUP])
    assert client.get(f"/corrections/{other_case}").status_code == 429

    written = db.query("SELECT actor, action, subject, detail FROM audit_log WHERE seq > ? "
                       "ORDER BY seq", [start])
    assert len(written) <= limit + 1
    assert {row["actor"] for row in written} == {f"resident:{DEFAULTER}"}
    assert {row["subject"] for row in written} == {DEFAULTER}
    assert [row["action"] for row in written] == ["entry_read_refused"] * limit + [
        "record_probing_throttled"]
    # Nobody else's "Who looked" shows the probing.
    for who in ("mixup", "clean", "focus_three", "train_expiring"):
        other = app.test_client()
        AuthActions(other).login(who)
        assert "tried to open" not in other.get("/me/access").get_data(as_text=True), who


def test_the_refused_page_is_the_same_for_a_missing_id_and_someone_elses(client, auth, db):
    auth.login("defaulter")
    others_entry = _own_entry(db, MIXUP)
    others_case = db.scalar("SELECT id FROM corrections WHERE id_number = ?", [MIXUP])
    missing = 2**63 - 1
    for path in ("/me/entries/{}", "/corrections/{}", "/me/entries/{}/correction"):
        start = _last_seq(db)
        taken_path = path.format(others_case if "corrections" in path else others_entry)
        absent_path = path.format(missing)
        taken, absent = client.get(taken_path), client.get(absent_path)
        assert taken.status_code == absent.status_code == 404, path
        assert _comparable(taken, taken_path) == _comparable(absent, absent_path)
        rows = db.query("SELECT actor, action, subject FROM audit_log WHERE seq > ?", [start])
        assert len(rows) == 2 and rows[0] == rows[1], path  # same record whether or not it exists
        assert rows[0]["subject"] == DEFAULTER


def test_a_probed_resident_sees_nothing_in_who_looked(app, db):
    prober, owner = app.test_client(), app.test_client()
    AuthActions(prober).login("defaulter")
    assert prober.get(f"/me/entries/{_own_entry(db, MIXUP)}").status_code == 404
    AuthActions(owner).login("mixup")
    assert "tried to open" not in owner.get("/me/access").get_data(as_text=True)
