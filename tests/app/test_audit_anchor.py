"""The audit log's outside anchor: signed checkpoints published at /audit/checkpoints with
their key at /audit/public-key, `flask audit-checkpoint`, `flask verify-audit` against
the newest checkpoint, and what staff see on the audit pages."""
import base64
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from credit_self import audit, audit_keys
from tests.conftest import ON_POSTGRESQL, staff_login
from tests.unit.test_audit import _append, _rewrite_from, _tamper

FIELDS = {"id", "seq", "head_hash", "created_at", "key_id", "signature"}


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _documented_message(checkpoint: dict) -> bytes:
    """The signed bytes, built from docs/transparency.md as an outsider would."""
    return ("credit-self-audit-checkpoint/1\n{id}\n{seq}\n{head_hash}\n{created_at}\n"
            .format(**checkpoint).encode("utf-8"))


def test_audit_checkpoint_signs_the_head_of_the_log(app, db):
    seq = audit.record(db, "system:test", "something_happened")
    result = _cli(app, "audit-checkpoint")
    assert result.exit_code == 0, result.output
    newest = audit.newest_checkpoint(db)
    head = db.scalar("SELECT hash FROM audit_log WHERE seq = ?", [seq])
    assert (newest.seq, newest.head_hash) == (seq, head)
    assert result.output.startswith(f"checkpoint {newest.id}: row {seq}, head {head}")


def test_anyone_can_check_the_published_checkpoints_with_the_published_key(client, db):
    audit.checkpoint(db)
    audit.record(db, "system:test", "something_happened")
    audit.checkpoint(db)
    key_response = client.get("/audit/public-key")
    assert key_response.status_code == 200 and key_response.mimetype == "text/plain"
    key = load_pem_public_key(key_response.data)
    listed = client.get("/audit/checkpoints")
    assert listed.status_code == 200 and listed.mimetype == "application/json"
    checkpoints = listed.get_json()
    assert isinstance(checkpoints, list) and len(checkpoints) >= 2
    assert [c["id"] for c in checkpoints] == sorted((c["id"] for c in checkpoints), reverse=True)
    assert checkpoints[0]["seq"] == checkpoints[1]["seq"] + 1
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    for checkpoint in checkpoints:
        assert set(checkpoint) == FIELDS
        key.verify(base64.b64decode(checkpoint["signature"]), _documented_message(checkpoint))
        assert checkpoint["key_id"] == audit_keys.key_id(key)
    jwk = client.get("/audit/public-key?format=jwk").get_json()
    assert (jwk["kty"], jwk["crv"], jwk["kid"]) == ("OKP", "Ed25519", checkpoints[0]["key_id"])
    assert base64.urlsafe_b64decode(jwk["x"] + "=") == raw


def test_the_published_anchors_are_the_same_for_everyone_and_cacheable(client, auth):
    auth.login("defaulter")
    for path, max_age in (("/audit/checkpoints", 60), ("/audit/public-key", 300),
                          ("/audit/public-key?format=jwk", 300)):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == f"public, max-age={max_age}", path
        assert "Set-Cookie" not in response.headers, path
        assert "Cookie" not in response.vary and "HX-Request" not in response.vary, path


def test_checkpoints_come_a_hundred_at_a_time(client, db):
    for _ in range(101):
        audit.checkpoint(db)
    total = db.count("audit_checkpoints")
    first = client.get("/audit/checkpoints")
    assert len(first.get_json()) == 100
    link = first.headers["Link"]
    last_id = first.get_json()[-1]["id"]
    assert link == f'</audit/checkpoints?before={last_id}>; rel="next"'
    rest = client.get(f"/audit/checkpoints?before={last_id}").get_json()
    assert [c["id"] for c in rest] == list(range(total - 100, 0, -1))


def test_bad_queries_get_a_clear_400(client):
    for path in ("/audit/checkpoints?before=abc", "/audit/checkpoints?before=-1",
                 "/audit/public-key?format=xml"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert response.get_json()["message"], path


def test_verify_audit_checks_the_newest_checkpoint_and_what_follows(app, db):
    _append(db, 600)
    made = audit.checkpoint(db)
    _append(db, 3)
    result = _cli(app, "verify-audit")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"ok ({made.seq + 3} rows: {made.seq} vouched for by "
                                    f"checkpoint {made.id}")
    assert "the 3 after it checked link by link" in result.output
    assert _cli(app, "verify-audit", "--full").exit_code == 0


def test_verify_audit_fails_when_the_last_rows_are_deleted(app, db):
    _append(db, 600)
    made = audit.checkpoint(db)
    _tamper(db, "DELETE FROM audit_log WHERE seq > ?", [made.seq - 500])
    for args in (["verify-audit"], ["verify-audit", "--full"]):
        result = _cli(app, *args)
        assert result.exit_code == 1, args
        assert f"broken at row {made.seq}: the log ends at row {made.seq - 500}" in result.output
        assert "rows were removed" in result.output


def test_verify_audit_fails_on_a_rewrite_behind_the_checkpoint(app, db):
    start = _append(db, 20)
    made = audit.checkpoint(db)
    _rewrite_from(db, start - 10, lambda rows: rows[1:] + rows[:1])
    result = _cli(app, "verify-audit")
    assert result.exit_code == 1
    assert f"row {made.seq} is not the row checkpoint {made.id}" in result.output


def test_verify_audit_fails_on_a_middle_row_deleted_and_the_rest_renumbered(app, db):
    start = _append(db, 30)
    made = audit.checkpoint(db)
    _rewrite_from(db, start - 15, lambda rows: rows[1:])
    for args in (["verify-audit"], ["verify-audit", "--full"]):
        result = _cli(app, *args)
        assert result.exit_code == 1, args
        assert f"the log ends at row {made.seq - 1}, but" in result.output, args
    # Padded back to the signed length, the renumbered log is still not what was signed.
    audit.record(db, "resident:1", "signed_in", "1")
    result = _cli(app, "verify-audit")
    assert result.exit_code == 1
    assert f"row {made.seq} is not the row checkpoint {made.id}" in result.output


def test_verify_audit_fails_on_a_forged_checkpoint(app, db):
    made = audit.checkpoint(db)
    signature = audit_keys.sign(Ed25519PrivateKey.generate(), made.message())
    db.execute("INSERT INTO audit_checkpoints (id, seq, head_hash, created_at, key_id, signature) "
               "VALUES (?, ?, ?, ?, ?, ?)",
               [made.id + 1, made.seq, made.head_hash, made.created_at, made.key_id, signature])
    result = _cli(app, "verify-audit")
    assert result.exit_code == 1
    assert f"checkpoint {made.id + 1} has a signature that does not verify" in result.output


def test_verify_audit_with_the_published_key_only(app, client, tmp_path):
    published = tmp_path / "published.pem"
    published.write_bytes(client.get("/audit/public-key").data)
    assert _cli(app, "verify-audit", "--public-key", str(published)).exit_code == 0
    other = tmp_path / "other.pem"
    other.write_text(audit_keys.public_pem(Ed25519PrivateKey.generate().public_key()))
    result = _cli(app, "verify-audit", "--public-key", str(other))
    assert result.exit_code == 1 and "not this log's key" in result.output
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    result = _cli(app, "verify-audit", "--public-key", str(garbage))
    assert result.exit_code == 1 and "cannot use the key" in result.output


def test_staff_see_the_newest_checkpoint_on_the_audit_log(client, db):
    staff_login(client, "superadmin")  # signing in is audited: before the checkpoint
    made = audit.checkpoint(db)
    audit.record(db, "system:test", "something_happened")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert f"number {made.id}" in page and f"vouches for rows 1 to {made.seq}." in page
    assert "Its signature holds" in page and "Rows added since: 1." in page
    _tamper(db, "DELETE FROM audit_log WHERE seq >= ?", [made.seq])
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "The newest checkpoint does not hold" in page
    assert f"The log no longer holds row {made.seq} as checkpoint {made.id} signed it" in page
    page = client.get("/admin/audit/verify").get_data(as_text=True)
    assert "The log has been tampered with" in page
    assert f"but a signed checkpoint covers {made.seq} rows: rows were removed" in page


def test_the_check_page_names_a_rewrite_found_by_a_checkpoint(client, db):
    start = _append(db, 10)
    made = audit.checkpoint(db)
    _rewrite_from(db, start - 5, lambda rows: [{**rows[0], "detail": json.dumps({"x": 1})},
                                                *rows[1:]])
    staff_login(client, "superadmin")
    page = client.get("/admin/audit/verify").get_data(as_text=True)
    assert f"Row {made.seq} is not the row a signed checkpoint vouches for" in page


def test_saved_copies_of_the_checkpoints_catch_what_the_stored_ones_cannot(app, client, db,
                                                                          tmp_path):
    _append(db, 600)
    audit.checkpoint(db)
    saved = tmp_path / "checkpoints.json"
    saved.write_bytes(client.get("/audit/checkpoints").data)  # kept by an outsider
    result = _cli(app, "verify-audit", "--saved", str(saved))
    assert result.exit_code == 0, result.output
    assert "saved checkpoints hold" in result.output
    # The attacker deletes the last 500 rows and the newest checkpoint that covered them;
    # the stored checkpoints no longer say the log was longer.
    newest = audit.newest_checkpoint(db)
    _tamper(db, "DELETE FROM audit_log WHERE seq > ?", [newest.seq - 500])
    if ON_POSTGRESQL:
        db.execute("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER")
    else:
        db.execute("DROP TRIGGER audit_checkpoints_no_delete")
    db.execute("DELETE FROM audit_checkpoints WHERE id = ?", [newest.id])
    audit.checkpoint(db)  # and signs the shortened log with the key on the server
    assert _cli(app, "verify-audit").exit_code == 0
    result = _cli(app, "verify-audit", "--saved", str(saved))
    assert result.exit_code == 1
    assert f"checkpoint {newest.id} (signed {newest.created_at}) is no longer stored as it " \
           "was published" in result.output


def test_a_saved_file_that_is_not_checkpoints_gets_a_clear_error(app, tmp_path):
    for text in ("not json", '{"id": 1}', '[{"id": 1}]',
                 '[{"id": "1", "seq": 1, "head_hash": "", "created_at": "", "key_id": "", '
                 '"signature": 5}]'):
        saved = tmp_path / "saved.json"
        saved.write_text(text)
        result = _cli(app, "verify-audit", "--saved", str(saved))
        assert result.exit_code == 1, text
        assert "cannot read the saved checkpoints" in result.output, text
