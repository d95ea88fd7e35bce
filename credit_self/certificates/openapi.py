"""The OpenAPI 3 description of the public verification API, served at
/api/v1/openapi.json, with what other capabilities describe (registry.api_description)."""
from .. import registry
from .forms import DECLARATION_MAX
from .statements import STATEMENTS


def document(server_url: str) -> dict:
    verdict_schema = {
        "type": "object",
        "required": ["verdict", "checked_at"],
        "properties": {
            "verdict": {
                "type": "string",
                "enum": ["valid", "expired", "not_valid", "unavailable"],
                "description": (
                    "valid: every statement the certificate makes is true as of "
                    "checked_at. expired: ask the "
                    "holder for a new certificate. not_valid: revoked, restricted since "
                    "issue or not genuine (deliberately not distinguished). unavailable: "
                    "the service cannot confirm right now; never treat as valid."
                ),
            },
            "checked_at": {
                "type": "string",
                "format": "date-time",
                "description": "Server time of the check (UTC).",
            },
            "holder": {
                "type": "object",
                "description": "Only when verdict is valid.",
                "required": ["name_masked", "id_masked"],
                "properties": {
                    "name_masked": {"type": "string", "example": "张*明"},
                    "id_masked": {"type": "string", "example": "3101**********123X"},
                },
            },
            "purpose": {
                "type": "string",
                "enum": ["rental", "employment", "bidding", "other"],
                "description": "Only when verdict is valid.",
            },
            "audience": {
                "type": ["string", "null"],
                "description": "Who the holder made it for, if they said. Only when valid.",
            },
            "expires_at": {
                "type": "string",
                "format": "date-time",
                "description": "When the certificate ends (UTC). Only when valid.",
            },
            "statements": {
                "type": "array",
                "items": {"type": "string", "enum": list(STATEMENTS.values)},
                "description": "What the certificate states, each re-checked at checked_at "
                               "(no_blacklist: no active blacklist entry at all; the others "
                               "each deny one list). Only when valid.",
            },
        },
    }
    token_param = {
        "name": "token",
        "in": "path",
        "required": True,
        "description": ("The token from the certificate's QR code (the part after /v/). "
                        "Any text is judged: one that is not a genuine token, such as one "
                        "over 300 characters, is not_valid."),
        "schema": {"type": "string"},
    }
    other_paths, other_schemas = registry.api_description()
    declaration_params = [
        {"name": name, "in": "query", "required": False, "description": description,
         "schema": {"type": "string", "maxLength": DECLARATION_MAX}}
        for name, description in (
            ("who", "Who is checking, shown to the holder in their scan log (optional)."),
            ("why", "Why they are checking, shown to the holder in their scan log (optional)."),
        )
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Credit Self-Check public API",
            "version": "1.0.0",
            "description": (
                "Check a resident's special credit report online. A valid verdict means "
                "every statement it makes (the holder chose them) was true at checked_at; "
                "it says nothing else about the person. Rate limited per client address."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/api/v1/verify/{token}": {
                "get": {
                    "operationId": "verifyCertificate",
                    "summary": "Verify a certificate token",
                    "parameters": [token_param, *declaration_params],
                    "responses": {
                        "200": {
                            "description": "A verdict: valid, expired or not_valid.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Verdict"}}},
                        },
                        "400": {
                            "description": "who or why is longer than allowed: nothing was checked.",
                            "content": {"application/json": {"schema": {
                                "type": "object",
                                "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                            }}},
                        },
                        "429": {
                            "description": "Too many checks from this address.",
                            "content": {"application/json": {"schema": {
                                "type": "object",
                                "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                            }}},
                        },
                        "503": {
                            "description": "verdict unavailable: cannot confirm right now.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Verdict"}}},
                        },
                    },
                }
            },
            **other_paths,
        },
        "components": {"schemas": {"Verdict": verdict_schema, **other_schemas}},
    }
