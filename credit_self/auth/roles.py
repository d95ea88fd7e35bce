"""Who may see a page: decorators for residents' and staff pages, and the refusal that
answers every attempt to open someone else's record."""
from functools import wraps
from typing import Any, Callable, NoReturn

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user, login_required
from limits import parse_many

from ..extensions import limiter

# Where refused reads are counted, per account (see refuse_read).
PROBE_SCOPE = "refused-read"


def resident_required(view: Callable) -> Callable:
    """Signed in as a resident (staff accounts have no record of their own)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_resident:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def staff_required(*roles: str) -> Callable:
    """Signed in as staff with one of `roles` (any staff role when none are given).

    Anonymous visitors are sent to the staff sign-in; residents and other staff get 403.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.staff_login", next=request.full_path.rstrip("?")))
            if current_user.is_resident or (roles and current_user.role not in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _count_refusal() -> str:
    """Count a refused read against the account: "allowed", "throttled" (the first
    refusal over the limit in its period) or "silent" (every later one)."""
    if not limiter.enabled:
        return "allowed"
    account = current_user.audit_name
    breached = [item for item in parse_many(current_app.config["PROBE_RATE_LIMIT"])
                if not limiter.limiter.hit(item, PROBE_SCOPE, account)]
    if not breached:
        return "allowed"
    # A limit of one over the breached limit's period: only its first hit is audited.
    noted = type(breached[0])(1, breached[0].multiples)
    return "throttled" if limiter.limiter.hit(noted, PROBE_SCOPE, account) else "silent"


def refuse_read(action: str, detail: dict[str, Any]) -> NoReturn:
    """Answer 404 (429 past PROBE_RATE_LIMIT) for something not the signed-in resident's."""
    from .. import audit
    from ..db import get_db

    # The owner is never looked up, so nothing here differs between someone else's id
    # and one that does not exist. The attempt is the prober's own security event (the
    # audit subject is the prober): it never reaches another resident's "Who looked".
    # Counted per account in the limiter's storage (shared by every worker); past the
    # limit only the first refusal in each period is audited, so probing cannot flood
    # the log.
    outcome = _count_refusal()
    if outcome == "silent":
        abort(429)
    if outcome == "throttled":
        audit.record(get_db(), current_user.audit_name, "record_probing_throttled",
                     current_user.id_number, {"refused": action, **detail})
        abort(429)
    audit.record(get_db(), current_user.audit_name, action, current_user.id_number, detail)
    abort(404)
