"""Sessions: signed cookies for signed-in pages, none at all for public ones.

Verifiers' pages, the verification API and static files are served with a `NoSession`:
the session cookie is neither read nor written there, so a scan from a phone that is
signed in here is not tied to its account. Hooks that only matter to a session (who is
signed in, remember-me cookies, fragments for htmx) ask `served_without_session()` and
stop early on those paths.
"""
from __future__ import annotations

from functools import cached_property
from typing import Any, NoReturn

from flask import Flask, request
from flask.globals import _cv_request
from flask.sessions import NullSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

from .signing import KeyOnceTimestampSigner, SessionCookieMemo


class NoSession(NullSession):
    """The session of a page served without one: empty, and any write is a bug."""

    def _fail(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError(f"{request.path} is served without a session: it cannot store one")

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail


def serve_without_session(app: Flask, *path_prefixes: str) -> None:
    """Serve paths starting with these prefixes without reading or writing the session
    cookie: every visitor, signed in or not, gets the same anonymous page."""
    app.extensions["sessionless_paths"] = (
        *app.extensions.get("sessionless_paths", ()), *path_prefixes)


def served_without_session() -> bool:
    """True while answering a path registered with `serve_without_session`."""
    context = _cv_request.get(None)
    return context is not None and isinstance(context.session, NoSession)


class SecureWhenHttpsSessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS.

    Flask's SESSION_COOKIE_SECURE is all-or-nothing; local `make run` serves plain HTTP,
    while any HTTPS deployment (directly or behind ProxyFix) gets Secure cookies.
    Paths registered with `serve_without_session` get a `NoSession` instead. Each
    cookie value's signature is checked once (`SessionCookieMemo`).
    """

    def open_session(self, app: Flask, request_: Any):
        if request_.path.startswith(app.extensions.get("sessionless_paths", ())):
            return NoSession()
        # Flask's own open_session, with the cookie check kept per cookie value.
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request_.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            return self.session_class(self._checked_cookies.loads(serializer, value, max_age))
        except BadSignature:
            return self.session_class()

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        # Most responses leave the session as it came. Flask reads seven cookie settings
        # before finding that it has nothing to write; the same outcome, decided first.
        unchanged = not session.modified and not (
            session and session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"])
        if unchanged:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)

    def get_signing_serializer(self, app: Flask):
        # Flask builds a new serializer for every request; it only depends on the keys.
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = self._serializers.get(key)
        if cached is None:
            cached = self._serializers[key] = self._serializer_for(app)
        return cached

    def _serializer_for(self, app: Flask):
        """Flask's serializer, with a signer that derives its key once (same cookies)."""
        serializer = super().get_signing_serializer(app)
        if serializer is not None:
            serializer.signer = KeyOnceTimestampSigner
        return serializer

    @cached_property
    def _serializers(self) -> dict:
        return {}

    @cached_property
    def _checked_cookies(self) -> SessionCookieMemo:
        return SessionCookieMemo()
