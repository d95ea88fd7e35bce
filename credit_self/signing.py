"""itsdangerous signing with the same bytes, at less cost per request.

Every request signed in checks its session cookie, and every scan checks a certificate
token: both are itsdangerous signatures. itsdangerous derives the signing key from the
secret and salt (one HMAC) on every check, and computes each HMAC with Python's `hmac`
class. The derived key depends only on the secret, salt and methods, so it is derived
once per process; HMACs are computed in one call by OpenSSL (`hmac.digest`). Tokens and
cookies are byte-for-byte the same as itsdangerous' own (a test checks both ways).
"""
import hmac
import time
from typing import Any, Callable

from itsdangerous import SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.signer import HMACAlgorithm

from .keep import kept

_DERIVED_KEYS_KEPT = 64
_derived_keys: dict[tuple, bytes] = {}
_algorithms: dict[Any, "OneCallHMAC"] = {}


class OneCallHMAC(HMACAlgorithm):
    """itsdangerous' HMAC algorithm, each signature computed by `hmac.digest`."""

    def __init__(self, digest_method: Callable) -> None:
        super().__init__(digest_method)
        self._digest_name = digest_method().name

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hmac.digest(key, value, self._digest_name)


def one_call_hmac(digest_method: Callable) -> OneCallHMAC:
    """The shared algorithm object for a digest method (signers are made per check)."""
    return kept(_algorithms, digest_method, lambda: OneCallHMAC(digest_method), 16)


class KeyOnceTimestampSigner(TimestampSigner):
    """TimestampSigner deriving each (secret, salt, method) key once per process."""

    def __init__(self, secret_key: Any, salt: Any = b"itsdangerous.Signer", sep: Any = b".",
                 key_derivation: str | None = None, digest_method: Any = None,
                 algorithm: Any = None) -> None:
        if digest_method is None:
            digest_method = self.default_digest_method
        if algorithm is None:
            algorithm = one_call_hmac(digest_method)
        super().__init__(secret_key, salt, sep, key_derivation, digest_method, algorithm)

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else secret_key
        return kept(
            _derived_keys,
            (secret, self.salt, self.key_derivation, self.digest_method),
            lambda: TimestampSigner.derive_key(self, secret_key),
            _DERIVED_KEYS_KEPT,
        )


# Session cookies checked so far, per serializer and cookie value.
_SESSIONS_KEPT = 4096
_SCALARS = (str, int, float, bool, type(None))


class SessionCookieMemo:
    """`serializer.loads(cookie, max_age=...)` for session cookies, each cookie value
    checked once.

    A browser sends the same session cookie on every request until the session changes,
    and checking it (signature, zlib, base64, JSON) cost about 20 µs of each signed-in
    page. A cookie that verified once verifies again with the same data, so its data and
    signing time are kept; the age is still checked on every request, exactly as
    itsdangerous does (`SignatureExpired` when older than max_age or from the future).
    Only cookies whose values are all scalars are kept: the session is a shallow copy,
    and a kept list (flashed messages) would be shared between requests. Cookies that
    fail are never kept.
    """

    def __init__(self, most: int = _SESSIONS_KEPT) -> None:
        self._kept: dict[tuple[Any, str], tuple[int, dict]] = {}
        self._most = most

    def loads(self, serializer: URLSafeTimedSerializer, value: str, max_age: int) -> dict:
        key = (serializer, value)
        hit = self._kept.get(key)
        if hit is None:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
            if isinstance(data, dict) and all(isinstance(v, _SCALARS) for v in data.values()):
                kept(self._kept, key, lambda: (int(signed_at.timestamp()), data), self._most)
                return dict(data)
            return data
        signed, data = hit
        age = int(time.time()) - signed
        if age > max_age or age < 0:
            raise SignatureExpired(f"Signature age {age} outside 0..{max_age} seconds")
        return dict(data)
