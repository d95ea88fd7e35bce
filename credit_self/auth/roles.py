"""Role checks for views."""
from functools import wraps
from typing import Any, Callable, NoReturn

from flask import abort
from flask_login import current_user, login_required

from ..request_globals import signed_in_user


def resident_required(view: Callable) -> Callable:
    """Signed in as a resident (staff accounts have no record of their own)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not signed_in_user().is_resident:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def staff_required(*roles: str) -> Callable:
    """Signed in as staff with one of `roles` (any staff role when none are given).

    Residents and other staff get 403; anonymous visitors are sent to sign in.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.is_resident or (roles and current_user.role not in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def refuse_read(action: str, owner: str | None, detail: dict[str, Any]) -> NoReturn:
    """Answer 404 for something that is not the signed-in resident's.

    The answer is the same whether it belongs to someone else or does not exist; the
    attempt is audited with the owner as subject, so the owner's access log shows it.
    """
    from .. import audit
    from ..db import get_db

    audit.record(get_db(), current_user.audit_name, action, owner, detail)
    abort(404)
