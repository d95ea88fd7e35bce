"""Offline credentials: SD-JWT VCs (RFC 9901; `typ` dc+sd-jwt, EdDSA over Ed25519) and
IETF Token Status Lists (no Flask here). jwcrypto signs and checks the JWS; what is
written here is only the SD-JWT framing the RFC defines: a disclosure is the base64url
of the JSON array [salt, claim name, value], its digest the base64url SHA-256 of that
text, and the compact form `<issuer-signed JWT>~<disclosure>~...~`.
"""
import base64
import hashlib
import json
import secrets
import zlib
from datetime import datetime

from jwcrypto import jws

from .issuer_keys import IssuerKey

CREDENTIAL_TYPE = "dc+sd-jwt"
STATUS_LIST_TYPE = "statuslist+jwt"
VCT = "urn:credit-self:special-credit-report:1"
STATUS_VALID = 0
STATUS_INVALID = 1


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _sign(key: IssuerKey, typ: str, payload: dict) -> str:
    token = jws.JWS(_json(payload))
    token.add_signature(key.key, alg="EdDSA",
                        protected=_json({"alg": "EdDSA", "typ": typ, "kid": key.kid}).decode())
    return token.serialize(compact=True)


def disclosure(name: str, value) -> str:
    """One disclosure, with a fresh 128-bit salt (RFC 9901, section 4.2.1)."""
    return b64url(_json([b64url(secrets.token_bytes(16)), name, value]))


def digest(disclosure_text: str) -> str:
    return b64url(hashlib.sha256(disclosure_text.encode("ascii")).digest())


def issue(key: IssuerKey, *, issuer: str, issued_at: datetime, expires_at: datetime,
          name_masked: str, id_masked: str, purpose: str, audience: str | None,
          statements: tuple[str, ...], status_uri: str, status_index: int) -> str:
    """A compact SD-JWT VC: each statement a selectively disclosable claim (`true`), the
    masked holder, purpose and times in the clear, and where its status bit is."""
    disclosures = [disclosure(code, True) for code in statements]
    payload = {
        "iss": issuer,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "vct": VCT,
        "_sd_alg": "sha-256",
        # Sorted, so the order says nothing about which statement is which.
        "_sd": sorted(digest(d) for d in disclosures),
        "name_masked": name_masked,
        "id_masked": id_masked,
        "purpose": purpose,
        "status": {"status_list": {"idx": status_index, "uri": status_uri}},
    }
    if audience:
        payload["audience"] = audience
    return _sign(key, CREDENTIAL_TYPE, payload) + "~" + "".join(d + "~" for d in disclosures)


class NotValid(ValueError):
    """The credential is not genuine or not well formed."""


def _verified(jwt: str, keys: list[IssuerKey]) -> tuple[dict, dict]:
    """(header, payload) of a compact JWS signed by the key its `kid` names; ValueError
    when no key has that kid, jwcrypto's errors when the signature does not hold."""
    header = json.loads(b64url_decode(jwt.split(".")[0]))
    [key] = [k for k in keys if k.kid == header.get("kid")]
    token = jws.JWS()
    token.deserialize(jwt)
    token.verify(key.key, alg="EdDSA")
    return header, json.loads(token.payload)


def verify(compact: str, keys: list[IssuerKey]) -> tuple[dict, dict]:
    """Check the signature and every disclosure; (payload, {claim: value} disclosed)."""
    jwt, *disclosures = compact.split("~")
    if not disclosures or disclosures[-1] != "":
        raise NotValid("an SD-JWT ends with ~")
    try:
        header, payload = _verified(jwt, keys)
    except (ValueError, jws.InvalidJWSObject, jws.InvalidJWSSignature) as error:
        raise NotValid("signature") from error
    if header.get("typ") != CREDENTIAL_TYPE or payload.get("_sd_alg") != "sha-256":
        raise NotValid("type")
    disclosed = {}
    for text in disclosures[:-1]:
        if digest(text) not in payload.get("_sd", []):
            raise NotValid("a disclosure the issuer did not sign")
        _salt, name, value = json.loads(b64url_decode(text))
        if name in disclosed:
            raise NotValid("a claim disclosed twice")
        disclosed[name] = value
    return payload, disclosed


def status_list_token(key: IssuerKey, *, uri: str, size: int, invalid: set[int],
                      made_at: datetime, ttl: int) -> str:
    """A signed Token Status List (1 bit per credential, bit i of the list is bit i % 8,
    least significant first, of byte i // 8), compressed with zlib (DEFLATE)."""
    bits = bytearray(size // 8)
    for index in invalid:
        bits[index // 8] |= 1 << (index % 8)
    return _sign(key, STATUS_LIST_TYPE, {
        "sub": uri,
        "iat": int(made_at.timestamp()),
        "ttl": ttl,
        "status_list": {"bits": 1, "lst": b64url(zlib.compress(bytes(bits), 9))},
    })


def status_of(token: str, keys: list[IssuerKey], index: int) -> tuple[int, dict]:
    """(the status at `index`, the list's payload) from a signed status list token."""
    _header, payload = _verified(token, keys)
    bits = zlib.decompress(b64url_decode(payload["status_list"]["lst"]))
    return (bits[index // 8] >> (index % 8)) & 1, payload
