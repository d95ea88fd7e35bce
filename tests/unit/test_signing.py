"""credit_self.signing makes exactly itsdangerous' signatures, only cheaper."""
import hashlib
from datetime import datetime, timezone

import pytest
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from credit_self import create_app
from credit_self.certificates import tokens
from credit_self.signing import KeyOnceTimestampSigner

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


def test_certificate_tokens_are_plain_itsdangerous_tokens():
    token = tokens.make_token(["newest", "older"], "cert-1", tokens.PRINT, NOW)
    plain = URLSafeTimedSerializer("newest", salt=tokens.SALT,
                                   signer_kwargs={"digest_method": hashlib.sha256})
    assert plain.loads(token) == {"c": "cert-1", "k": "p"}
    assert tokens.serializer(["newest"], NOW).loads(plain.dumps({"c": "x", "k": "s"})) == \
        {"c": "x", "k": "s"}
