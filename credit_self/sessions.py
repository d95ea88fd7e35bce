"""The session cookie: signed, HttpOnly, SameSite=Lax, Secure over HTTPS; absent from
the verifier's pages.

Verifiers' pages, the verification API and static files are served with a `NoSession`:
the cookie is neither read nor written there, so a scan from a phone that is signed in
here is never tied to its account and every verifier sees the same page. Who is signed
in is decided by the server-side session the cookie names (auth.accounts), not by the
cookie alone.
"""
from __future__ import annotations

from typing import Any, NoReturn

from flask import Flask, request
from flask.sessions import NullSession, SecureCookieSessionInterface


class NoSession(NullSession):
    """The session of a page served without one: empty, and any write is a bug."""

    def _fail(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError(f"{request.path} is served without a session: it cannot store one")

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail  # type: ignore[assignment]


def serve_without_session(app: Flask, *path_prefixes: str) -> None:
    """Serve paths starting with these prefixes without reading or writing the session
    cookie: every visitor, signed in or not, gets the same anonymous page."""
    app.config["SESSIONLESS_PATHS"] = (*app.config.get("SESSIONLESS_PATHS", ()), *path_prefixes)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, Secure whenever the request came over HTTPS
    (directly or behind ProxyFix), and none at all on sessionless paths."""

    def open_session(self, app: Flask, request_: Any):
        if request_.path.startswith(app.config.get("SESSIONLESS_PATHS", ())):
            return NoSession()
        return super().open_session(app, request_)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)
