"""This request's `g`, without going through Flask's context-local proxy.

Helpers that pages call dozens of times (translations, the clock, per-page caches) read
`g` through the app context's own context variable: the `g` proxy costs several
function calls per attribute.
"""
from flask.ctx import _AppCtxGlobals
from flask.globals import _cv_app


def request_globals() -> _AppCtxGlobals | None:
    """The current app context's `g`, or None outside one."""
    context = _cv_app.get(None)
    return context.g if context is not None else None
