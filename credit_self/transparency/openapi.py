"""The OpenAPI description of the published audit anchors (/audit/checkpoints and
/audit/public-key), added to /api/v1/openapi.json through the registry."""
from .. import registry
from ..routing import ID_MAX as LARGEST_NUMBER  # checkpoint numbers: 64-bit on both engines

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_CACHE_CONTROL = {"Cache-Control": {"description": "public, max-age=N: the same for everyone.",
                                    "schema": {"type": "string"}}}

SCHEMAS = {
    "Checkpoint": {
        "type": "object",
        "description": (
            "A signed statement: at created_at the audit log held seq rows, the last with "
            "hash head_hash. signature is the standard base64 Ed25519 signature of the UTF-8 "
            "bytes \"credit-self-audit-checkpoint/1\\n{id}\\n{seq}\\n{head_hash}\\n"
            "{created_at}\\n\", checked with the key at /audit/public-key."),
        "required": ["id", "seq", "head_hash", "created_at", "key_id", "signature"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer", "minimum": 1,
                   "description": "Checkpoints are numbered 1, 2, 3 ... without gaps."},
            "seq": {"type": "integer", "minimum": 0, "description": "Rows the log held."},
            "head_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                          "description": "SHA-256 (hex) of row seq."},
            "created_at": {"type": "string", "format": "date-time"},
            "key_id": {"type": "string", "pattern": "^[0-9a-f]{16}$",
                       "description": "First 16 hex digits of the SHA-256 of the raw public key."},
            "signature": {"type": "string", "format": "byte"},
        },
    },
    "PublicKeyJwk": {
        "type": "object",
        "description": "The Ed25519 public key as a JSON Web Key (RFC 8037).",
        "required": ["kty", "crv", "alg", "use", "kid", "x"],
        "properties": {
            "kty": {"const": "OKP"}, "crv": {"const": "Ed25519"}, "alg": {"const": "EdDSA"},
            "use": {"const": "sig"}, "kid": {"type": "string"}, "x": {"type": "string"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    },
}

PATHS = {
    "/audit/checkpoints": {
        "get": {
            "operationId": "listAuditCheckpoints",
            "summary": "The audit log's signed checkpoints, newest first, 100 to a page",
            "parameters": [{
                "name": "before", "in": "query", "required": False,
                "description": "Only checkpoints numbered below this (the next page).",
                "schema": {"type": "integer", "minimum": 0, "maximum": LARGEST_NUMBER},
            }],
            "responses": {
                "200": {
                    "description": "Checkpoints, newest first.",
                    "headers": {**_CACHE_CONTROL, "Link": {
                        "description": "The next page: <address>; rel=\"next\".",
                        "schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Checkpoint"}}}},
                },
                "400": {"description": "before is not a checkpoint number.", "content": _ERROR},
            },
        }
    },
    "/audit/public-key": {
        "get": {
            "operationId": "getAuditPublicKey",
            "summary": "The Ed25519 key that checks the checkpoints",
            "parameters": [{
                "name": "format", "in": "query", "required": False,
                "description": "pem (SubjectPublicKeyInfo, the default) or jwk.",
                "schema": {"type": "string", "enum": ["pem", "jwk"]},
            }],
            "responses": {
                "200": {
                    "description": "The public key.",
                    "headers": _CACHE_CONTROL,
                    "content": {
                        "text/plain": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"$ref": "#/components/schemas/PublicKeyJwk"}},
                    },
                },
                "400": {"description": "format is neither pem nor jwk.", "content": _ERROR},
            },
        }
    },
}


def register() -> None:
    registry.add_api_description(PATHS, SCHEMAS)
