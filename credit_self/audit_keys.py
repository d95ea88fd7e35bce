"""The audit log's signing key: Ed25519, kept outside the database.

`CREDIT_SELF_AUDIT_SIGNING_KEY` names an unencrypted PKCS#8 PEM file, or holds the PEM
itself (which is what `CREDIT_SELF_AUDIT_SIGNING_KEY_FILE=/run/secrets/...` hands over).
Unset, the key is `instance/audit-signing-key.pem`, generated on first use with mode 0600.
A key that is named but missing is an error, never silently replaced: a new key would
leave the published checkpoints unverifiable.

What a checkpoint signs is `checkpoint_message()`: docs/transparency.md spells it out so
anyone with the public key (`GET /audit/public-key`) can check a checkpoint.
"""
from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from .config import INSTANCE_PATH, write_private_once

SETTING = "CREDIT_SELF_AUDIT_SIGNING_KEY"
DEFAULT_FILE = "audit-signing-key.pem"
MESSAGE_PREFIX = "credit-self-audit-checkpoint/1"


class SigningKeyError(Exception):
    """The configured signing key cannot be used."""


def generate(path: Path) -> None:
    """Write a new private key to `path` (mode 0600) unless one is there already."""
    write_private_once(path, Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))


@functools.lru_cache(maxsize=8)
def signing_key(value: str | None = None, instance_path: Path = INSTANCE_PATH) -> Ed25519PrivateKey:
    """The private key `value` gives (see the module's docstring); read once per process."""
    if value and value.lstrip().startswith("-----BEGIN"):
        pem = value.encode("ascii")
        where = f"{SETTING} (a PEM)"
    else:
        path = Path(value) if value else instance_path / DEFAULT_FILE
        if not value and not path.exists():
            generate(path)
        if not path.is_file():
            raise SigningKeyError(f"{SETTING} names {path}, which is not a file")
        pem, where = path.read_bytes(), str(path)
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError(f"{where} is not an unencrypted PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{where} is not an Ed25519 key")
    return key


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def load_public_pem(pem: bytes) -> Ed25519PublicKey:
    """A public key from PEM (as `GET /audit/public-key` serves it)."""
    key = load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("not an Ed25519 public key")
    return key


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the 32-byte raw public key."""
    return hashlib.sha256(_raw(key)).hexdigest()[:16]


def jwk(key: Ed25519PublicKey) -> dict:
    """The public key as a JSON Web Key (RFC 8037)."""
    return {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": key_id(key),
            "x": base64.urlsafe_b64encode(_raw(key)).rstrip(b"=").decode("ascii")}


def checkpoint_message(checkpoint_id: int, seq: int, head_hash: str, created_at: str) -> bytes:
    """The exact bytes a checkpoint's signature covers: five lines, each ended by LF."""
    return (f"{MESSAGE_PREFIX}\n{checkpoint_id}\n{seq}\n{head_hash}\n{created_at}\n"
            .encode("utf-8"))


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    """The signature, in standard base64."""
    return base64.b64encode(key.sign(message)).decode("ascii")


def signature_matches(key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True
