"""Role checks for views."""
from functools import wraps
from typing import Callable

from flask import abort
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
