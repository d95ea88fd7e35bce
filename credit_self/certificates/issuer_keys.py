"""The Ed25519 keys that sign offline credentials and status lists (no Flask here).

One PEM file per key in the key directory (instance/issuer_keys by default), readable by
the owner only, named by its creation time (UTC) so the newest signs. A key's `kid` is
its RFC 7638 thumbprint. Rotating adds a key; an older key stays published in the JWKS
until every credential it may have signed has expired (its successor's creation plus
the longest validity), then it is simply no longer listed.
"""
import functools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from jwcrypto import jwk

from ..config import write_private_once

_NAME_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class IssuerKey:
    kid: str
    created: datetime
    key: jwk.JWK

    def public_jwk(self) -> dict:
        return {**self.key.export_public(as_dict=True), "kid": self.kid, "alg": "EdDSA",
                "use": "sig"}


def create(key_dir: Path, now: datetime) -> None:
    """Add a new signing key, created `now`."""
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    name = now.astimezone(timezone.utc).strftime(_NAME_FORMAT) + ".pem"
    write_private_once(key_dir / name, key.export_to_pem(private_key=True, password=None))


def load(key_dir: Path, now: datetime) -> list[IssuerKey]:
    """Every key, newest first; the first key is made when there is none."""
    if not key_dir.is_dir() or not any(key_dir.glob("*.pem")):
        create(key_dir, now)
    keys = [_parse(str(path), path.stat().st_mtime_ns) for path in key_dir.glob("*.pem")]
    return sorted(keys, key=lambda k: k.created, reverse=True)


@functools.lru_cache(maxsize=64)
def _parse(path: str, _mtime_ns: int) -> IssuerKey:
    """A key file, parsed once per version of the file (issuing stays cheap)."""
    created = datetime.strptime(Path(path).stem, _NAME_FORMAT).replace(tzinfo=timezone.utc)
    key = jwk.JWK.from_pem(Path(path).read_bytes())
    return IssuerKey(key.thumbprint(), created, key)


def published(keys: list[IssuerKey], now: datetime, longest: timedelta) -> list[IssuerKey]:
    """The newest key, and each older key while a credential it signed may be alive."""
    return [key for key, successor in zip(keys, [None, *keys])
            if successor is None or successor.created + longest > now]
