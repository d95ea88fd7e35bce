"""Security that applies to every response: headers, the CSP nonce, body size limits and
the one check every redirect to a `next` address goes through."""
from __future__ import annotations

import secrets
from typing import Any, Callable
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, request
from flask_login import current_user

# Where the request's CSP nonce, once a page asks for it, waits in the WSGI environ.
CSP_NONCE_KEY = "credit_self.csp_nonce"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; "
    "script-src 'self'{nonce}; "
    "style-src 'self'; "
    "img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


class SecurityHeaders:
    """WSGI middleware: the security headers on every response the app sends, error
    pages included, each exactly once.

    The CSP allows inline scripts only with this request's nonce, which the first
    template that prints `csp_nonce` makes; a response that rendered no script (JSON,
    redirects, the verdict page) allows none.
    """

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        def start_with_security_headers(status: str, headers: list, exc_info: Any = None) -> Any:
            # A route may set its own value (the offline verifier allows the camera).
            present = {name.lower() for name, _ in headers}
            headers.extend(header for header in SECURITY_HEADERS
                           if header[0].lower() not in present)
            nonce = environ.get(CSP_NONCE_KEY)
            headers.append(("Content-Security-Policy",
                            CONTENT_SECURITY_POLICY.format(nonce=f" 'nonce-{nonce}'" if nonce else "")))
            if environ.get("wsgi.url_scheme") == "https":
                headers.append(("Strict-Transport-Security", "max-age=31536000"))
            # Every page may carry personal data: nothing is cached unless the response
            # says otherwise (static files do).
            if not any(name.lower() == "cache-control" for name, _ in headers):
                headers.append(("Cache-Control", "no-store"))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_security_headers)


class TemplateNonce:
    """`{{ csp_nonce }}` in a template: this request's nonce, made when first printed."""

    def __html__(self) -> str:
        if not has_request_context():
            return ""
        environ = request.environ
        if CSP_NONCE_KEY not in environ:
            environ[CSP_NONCE_KEY] = secrets.token_urlsafe(16)
        return environ[CSP_NONCE_KEY]

    __str__ = __html__


def safe_next(target: str | None, default: str) -> str:
    """Follow a `next` address only to a path on this site: never an open redirect."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return default
    return target


def allows_large_upload(view: Callable) -> Callable:
    """Mark a staff view that accepts bodies up to IMPORT_MAX_BYTES (a list feed); every
    other request stays under MAX_CONTENT_LENGTH."""
    view.allows_large_upload = True  # type: ignore[attr-defined]
    return view


def allows_evidence_upload(view: Callable) -> Callable:
    """Mark a resident view that accepts evidence files (EVIDENCE_MAX_REQUEST_BYTES: five
    files of 5 MB); staff and other views stay under their own limits."""
    view.allows_evidence_upload = True  # type: ignore[attr-defined]
    return view


def _upload_limit() -> None:
    # Runs before the CSRF check reads the form, so the larger limit applies to it too.
    view = current_app.view_functions.get(request.endpoint or "")
    if not current_user.is_authenticated:
        return
    if getattr(view, "allows_large_upload", False) and not current_user.is_resident:
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]
    elif getattr(view, "allows_evidence_upload", False) and current_user.is_resident:
        request.max_content_length = current_app.config["EVIDENCE_MAX_REQUEST_BYTES"]


def init_app(app: Flask) -> None:
    """Headers on every response; the upload limit hook before any other (CSRF's)."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]
    app.before_request(_upload_limit)
    app.jinja_env.globals["csp_nonce"] = TemplateNonce()
