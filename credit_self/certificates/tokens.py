"""Signed certificate tokens and the verification rules (no Flask here).

A token is itsdangerous' URLSafeTimedSerializer (HMAC-SHA-256, its own salt) over
`{"c": certificate id, "k": "s" | "p"}` only: nothing personal is in the QR. The
timestamp inside the token comes from the server's clock (`now` passed in), and so does
the age check, so a phone's clock never decides anything.
"""
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode
from sqlalchemy import Connection

from ..i18n import N_
from . import store

SALT = "credit-self.certificate.v1"
SCREEN = "s"
PRINT = "p"
SCREEN_MAX_AGE = 90  # seconds an on-screen token is accepted
SCREEN_REFRESH = 30  # seconds between on-screen QR refreshes
# No certificate lives longer than this; a print token is also held to its own
# certificate's lifetime below.
LONGEST_LIFETIME = int(store.LONGEST_VALIDITY.total_seconds())
# Anything longer is junk: real tokens are about 80 characters.
MAX_TOKEN_LENGTH = 300

VERDICT_VALID = "valid"
VERDICT_EXPIRED = "expired"
VERDICT_NOT_VALID = "not_valid"
VERDICT_UNAVAILABLE = "unavailable"


class ServerClockSigner(TimestampSigner):
    """Signs and checks ages on the server's clock (itsdangerous documents
    get_timestamp as the method to override for that)."""

    def __init__(self, *args: Any, timestamp: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timestamp = timestamp

    def get_timestamp(self) -> int:
        return self.timestamp


def serializer(secret_keys: list[str], now: datetime) -> URLSafeTimedSerializer:
    """A serializer on the server's clock. `secret_keys` is newest first (the setting's
    order); itsdangerous wants newest last: it signs with the last and tries them all."""
    return URLSafeTimedSerializer(
        list(reversed(secret_keys)), salt=SALT, signer=ServerClockSigner,
        signer_kwargs={"digest_method": hashlib.sha256, "timestamp": int(now.timestamp())},
    )


def make_token(secret_keys: list[str], certificate_id: str, kind: str, now: datetime) -> str:
    return serializer(secret_keys, now).dumps({"c": certificate_id, "k": kind})


_TOKEN_SHAPE = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")


def _canonical(token: str) -> bool:
    """Three base64url parts, each exactly as we would write it. Base64 leaves spare bits
    in a part's last character, so without this some one-character edits would still
    verify; a compressed payload (leading ".") is never one of ours."""
    shape = _TOKEN_SHAPE.fullmatch(token)
    if shape is None:
        return False
    try:
        return all(base64_encode(base64_decode(part)).decode() == part for part in shape.groups())
    except BadData:
        return False


def _payload_ok(payload: object) -> bool:
    return (
        isinstance(payload, dict)
        and set(payload) == {"c", "k"}
        and isinstance(payload["c"], str)
        and 0 < len(payload["c"]) <= 64
        and payload["k"] in (SCREEN, PRINT)
    )


@dataclass
class Outcome:
    """A scan's result: `verdict` is what the verifier sees, `reason` what the holder's
    scan log keeps, `certificate` the row when the token was genuine and known."""

    verdict: str
    reason: str
    certificate: dict | None = None


NOT_GENUINE = Outcome(VERDICT_NOT_VALID, store.NOT_GENUINE)


def verify(conn: Connection, token: str, secret_keys: list[str], now: datetime,
           today: str) -> Outcome:
    """Decide a scan. Raises SQLAlchemyError when the database cannot be read (the caller
    answers "cannot confirm"); never returns valid without reading the database."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return NOT_GENUINE
    if not _canonical(token):
        return NOT_GENUINE
    too_old = False
    codec = serializer(secret_keys, now)
    try:
        payload, signed_at = codec.loads(
            token, max_age=LONGEST_LIFETIME, return_timestamp=True
        )
    except SignatureExpired as error:
        # Genuine but past the longest possible life: expired, and still logged.
        # (The error carries the verified but still encoded payload.)
        try:
            payload = codec.load_payload(error.payload)
        except BadData:
            return NOT_GENUINE
        signed_at, too_old = error.date_signed, True
    except (BadData, UnicodeError, ValueError, TypeError):
        return NOT_GENUINE
    if not _payload_ok(payload) or signed_at is None:
        return NOT_GENUINE
    certificate = store.for_verification(conn, payload["c"], today)
    if certificate is None:
        return NOT_GENUINE
    if certificate["revoked_at"]:
        return Outcome(VERDICT_NOT_VALID, store.REVOKED, certificate)
    age = (now - signed_at).total_seconds()
    issued = datetime.fromisoformat(certificate["issued_at"])
    expires = datetime.fromisoformat(certificate["expires_at"])
    max_age = SCREEN_MAX_AGE if payload["k"] == SCREEN else (expires - issued).total_seconds()
    if too_old or age > max_age or age < 0 or expires <= now:
        return Outcome(VERDICT_EXPIRED, store.EXPIRED, certificate)
    if certificate["false_statements"]:  # read live, on every scan
        return Outcome(VERDICT_NOT_VALID, store.RESTRICTED, certificate)
    return Outcome(VERDICT_VALID, store.VALID, certificate)


def browser_family(user_agent: str | None) -> str:
    """A coarse family name, the only thing kept about a verifier."""
    ua = (user_agent or "").lower()
    for marker, family in (
        ("micromessenger", N_("WeChat")),
        ("alipayclient", N_("Alipay")),
        ("edg/", "Edge"),
        ("firefox/", "Firefox"),
        ("fxios/", "Firefox"),
        ("crios/", "Chrome"),
        ("chrome/", "Chrome"),
        ("chromium/", "Chrome"),
        ("safari/", "Safari"),
    ):
        if marker in ua:
            return family
    return N_("Other")
