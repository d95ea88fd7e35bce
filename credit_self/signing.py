"""itsdangerous signing with the same bytes, at less cost per request.

Every request signed in checks its session cookie, and every scan checks a certificate
token: both are itsdangerous signatures. itsdangerous derives the signing key from the
secret and salt (one HMAC) on every check, and computes each HMAC with Python's `hmac`
class. The derived key depends only on the secret, salt and methods, so it is derived
once per process; HMACs are computed in one call by OpenSSL (`hmac.digest`). Tokens and
cookies are byte-for-byte the same as itsdangerous' own (a test checks both ways).
"""
import hmac
from typing import Any, Callable

from itsdangerous import TimestampSigner
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
