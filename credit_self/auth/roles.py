"""Who may see a page: decorators for residents' and staff pages, and the refusal that
answers every attempt to open someone else's record."""
from functools import wraps
from typing import Any, Callable, NoReturn

from flask import abort, redirect, request, url_for
from flask_login import current_user, login_required


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


def refuse_read(action: str, owner: str | None, detail: dict[str, Any]) -> NoReturn:
    """Answer 404 for something that is not the signed-in resident's.

    The answer is the same whether it belongs to someone else or does not exist; the
    attempt is audited with the owner as subject, so the owner's access log shows it.
    """
    from .. import audit
    from ..db import get_db

    audit.record(get_db(), current_user.audit_name, action, owner, detail)
    abort(404)
