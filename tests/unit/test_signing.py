"""credit_self.signing makes exactly itsdangerous' signatures, only cheaper."""
import base64
import binascii
import hashlib
import string
import time
from datetime import datetime, timezone

import pytest
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from credit_self import create_app
from credit_self.certificates import tokens
from credit_self.signing import KeyOnceTimestampSigner, SessionCookieMemo

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("digest", [None, hashlib.sha256])
@pytest.mark.parametrize("derivation", ["hmac", "concat", "django-concat", "none"])
def test_signatures_are_byte_for_byte_itsdangerous(digest, derivation):
    kwargs = {"salt": "some-salt", "key_derivation": derivation, "digest_method": digest}
    ours = KeyOnceTimestampSigner(["old-secret", "new-secret"], **kwargs)
    theirs = TimestampSigner(["old-secret", "new-secret"], **kwargs)
    value = b"payload"
    assert ours.get_signature(value) == theirs.get_signature(value)
    signed = theirs.sign(value)
    assert ours.unsign(signed) == value
    # Signed with the older key: still accepted while it is listed.
    older = TimestampSigner("old-secret", **kwargs).sign(value)
    assert ours.unsign(older) == value
    # The derived key is remembered per secret and salt, never shared across them
    # ("none" uses the secret as it is, without the salt).
    if derivation != "none":
        other_salt = KeyOnceTimestampSigner(["old-secret", "new-secret"], salt="another-salt",
                                            key_derivation=derivation, digest_method=digest)
        with pytest.raises(BadSignature):
            other_salt.unsign(signed)
    with pytest.raises(BadSignature):
        KeyOnceTimestampSigner("a-third-secret", **kwargs).unsign(signed)


def test_session_cookies_are_flasks_own(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"),
                      "SECRET_KEY": "k" * 40, "SECRET_KEY_FALLBACKS": ["f" * 40]})
    ours = app.session_interface.get_signing_serializer(app)
    flasks = SecureCookieSessionInterface().get_signing_serializer(app)
    session = {"_user_id": "resident:1", "csrf_token": "abc"}
    assert ours.loads(flasks.dumps(session)) == session
    assert flasks.loads(ours.dumps(session)) == session
    tampered = flasks.dumps(session)[:-2] + "xx"
    with pytest.raises(BadSignature):
        ours.loads(tampered)


def _session_serializer(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"),
                      "SECRET_KEY": "k" * 40})
    return app.session_interface.get_signing_serializer(app)


def test_a_session_cookie_checked_once_reads_the_same_every_time(tmp_path):
    serializer = _session_serializer(tmp_path)
    memo = SessionCookieMemo()
    session = {"_user_id": "7", "_fresh": True, "csrf_token": "abc"}
    cookie = serializer.dumps(session)
    first = memo.loads(serializer, cookie, 7200)
    first["_user_id"] = "changed by this request"
    # The second read comes from the memo: the same data, not the first request's copy.
    assert memo.loads(serializer, cookie, 7200) == session
    with pytest.raises(BadSignature):
        memo.loads(serializer, cookie[:-2] + "xx", 7200)
    # Another secret's serializer does not see cookies checked by this one.
    other = SecureCookieSessionInterface().get_signing_serializer(
        create_app({"TESTING": True, "DATABASE": str(tmp_path / "u.db"), "SECRET_KEY": "o" * 40}))
    with pytest.raises(BadSignature):
        memo.loads(other, cookie, 7200)


def test_a_remembered_session_cookie_still_expires(tmp_path, monkeypatch):
    serializer = _session_serializer(tmp_path)
    memo = SessionCookieMemo()
    cookie = serializer.dumps({"_user_id": "7"})
    assert memo.loads(serializer, cookie, 60) == {"_user_id": "7"}
    signed_at = time.time()
    monkeypatch.setattr(time, "time", lambda: signed_at + 61)
    with pytest.raises(SignatureExpired):
        memo.loads(serializer, cookie, 60)
    with pytest.raises(SignatureExpired):  # itsdangerous agrees
        serializer.loads(cookie, max_age=60)
    monkeypatch.setattr(time, "time", lambda: signed_at - 5)  # the clock went back
    with pytest.raises(SignatureExpired):
        memo.loads(serializer, cookie, 60)


def test_a_session_holding_a_list_is_never_shared_between_requests(tmp_path):
    serializer = _session_serializer(tmp_path)
    memo = SessionCookieMemo()
    cookie = serializer.dumps({"_flashes": [["message", "Saved"]]})
    memo.loads(serializer, cookie, 7200)["_flashes"].append(["message", "Another"])
    assert memo.loads(serializer, cookie, 7200) == {"_flashes": [["message", "Saved"]]}


def test_certificate_tokens_are_plain_itsdangerous_tokens():
    token = tokens.make_token(["newest", "older"], "cert-1", tokens.PRINT, NOW)
    plain = URLSafeTimedSerializer("newest", salt=tokens.SALT,
                                   signer_kwargs={"digest_method": hashlib.sha256})
    assert plain.loads(token) == {"c": "cert-1", "k": "p"}
    assert tokens.serializer(["newest"], NOW).loads(plain.dumps({"c": "x", "k": "s"})) == \
        {"c": "x", "k": "s"}


@pytest.mark.parametrize("data, modified, accessed, permanent", [
    ({}, False, False, False),                    # never touched
    ({}, False, True, False),                     # read, empty
    ({}, True, True, False),                      # emptied: the cookie is deleted
    ({"_user_id": "7"}, False, True, False),      # read, unchanged: no Set-Cookie
    ({"_user_id": "7"}, True, True, False),       # changed: a new cookie
    ({"_user_id": "7"}, False, True, True),       # permanent: refreshed every request
])
def test_saving_a_session_answers_as_flask_does(tmp_path, data, modified, accessed, permanent):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"), "SECRET_KEY": "k" * 40})

    def saved(interface):
        session = interface.session_class(data)
        session.permanent = permanent  # (setting it marks the session modified)
        session.modified, session.accessed = modified, accessed
        response = app.response_class()
        with app.test_request_context("/"):
            interface.save_session(app, session, response)
        cookies = response.headers.getlist("Set-Cookie")
        # The cookie's value carries a timestamp; its attributes and the session must match.
        return ([c.split(";", 1)[1] for c in cookies], response.headers.get("Vary"),
                [interface.get_signing_serializer(app).loads(c.split(";")[0].split("=", 1)[1])
                 for c in cookies if "Expires=Thu, 01 Jan 1970" not in c])

    assert saved(app.session_interface) == saved(SecureCookieSessionInterface())


def _round_trips(part: str) -> bool:
    try:
        decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return False
    return base64.urlsafe_b64encode(decoded).rstrip(b"=") == part.encode("ascii")


def test_a_token_part_is_canonical_exactly_when_it_survives_a_base64_round_trip():
    alphabet = string.ascii_letters + string.digits + "-_"
    real = tokens.make_token(["k"], "cert-1", tokens.SCREEN, NOW)
    assert tokens._canonical(real)
    payload, stamp, signature = real.split(".")
    for body in ("", "Q", "QU", "QUJ", "QUJD", "QUJDR"):
        for last in alphabet:
            part = body + last
            assert tokens._canonical(f"{part}.{stamp}.{signature}") == _round_trips(part), part
            assert tokens._canonical(f"{payload}.{stamp}.{part}") == _round_trips(part), part
    for shape in ("", "..", "a.b", "a.b.c.d", ".eJw.AAAA.BBBB", "AA.AA.AA=", "AA.AA.A+"):
        assert not tokens._canonical(shape)


def test_a_shared_serializer_keeps_each_moment_on_its_own_clock():
    later = NOW.replace(minute=NOW.minute + 2)
    assert tokens.serializer(["k"], NOW) is tokens.serializer(["k"], NOW)
    assert tokens.serializer(["k"], later) is not tokens.serializer(["k"], NOW)
    token = tokens.make_token(["k"], "cert-1", tokens.SCREEN, NOW)
    assert tokens.serializer(["k"], NOW).loads(token, max_age=90) == {"c": "cert-1", "k": "s"}
    with pytest.raises(SignatureExpired):
        tokens.serializer(["k"], later).loads(token, max_age=90)
    # A rotated key list is a different serializer: the removed secret no longer verifies.
    with pytest.raises(BadSignature):
        tokens.serializer(["new"], NOW).loads(token)
