"""This request's `g`, without going through Flask's context-local proxy.

Helpers that pages call dozens of times (translations, the clock, per-page caches) read
`g` through the app context's own context variable: the `g` proxy costs several
function calls per attribute.
"""
from typing import Any, Callable, TypeVar

from flask.ctx import _AppCtxGlobals
from flask.globals import _cv_app
from flask_login import current_user


def request_globals() -> _AppCtxGlobals | None:
    """The current app context's `g`, or None outside one."""
    context = _cv_app.get(None)
    return context.g if context is not None else None


V = TypeVar("V")


def once_per_request(name: str, make: Callable[[], V]) -> V:
    """`make()`, worked out once per request and kept on its `g` as `name`; outside an
    app context, worked out on every call."""
    state = request_globals()
    if state is None:
        return make()
    found = getattr(state, name, None)
    if found is None:
        found = make()
        setattr(state, name, found)
    return found


def signed_in_user() -> Any:
    """flask-login's `current_user`, without the proxy once this request has loaded it.

    Each attribute read through the `current_user` proxy looks the user up again (two
    `g` look-ups through their own proxies); hot helpers take the object once.
    """
    state = request_globals()
    user = getattr(state, "_login_user", None) if state is not None else None
    return user if user is not None else current_user._get_current_object()
