"""Validation for the sign-in and activation forms.

Each function returns the cleaned values and an ordered dict of field id → message, in
the order the fields appear, so the error summary lists problems top to bottom.
"""

from .. import identity
from ..i18n import gettext as _
from ..identity import IdProblem


def id_number_message(problem: IdProblem) -> str:
    """A specific, polite message for each way an ID number can be wrong."""
    return {
        IdProblem.EMPTY: _("Enter your resident ID number"),
        IdProblem.FORMAT: _(
            "Enter your resident ID number in the right format: 18 characters, "
            "17 digits followed by a digit or X"
        ),
        IdProblem.CHECKSUM: _(
            "This ID number is not valid: its last character does not match the others. "
            "Check it against your ID card"
        ),
        IdProblem.BIRTH_DATE: _(
            "This ID number is not valid: characters 7 to 14 are not a real date of birth"
        ),
        IdProblem.REGION: _(
            "This ID number is not valid: its first 6 digits are not a region code in use "
            "for that year of birth"
        ),
    }[problem]


def validate_id_field(raw: str | None, errors: dict[str, str]) -> str | None:
    parsed = identity.parse(raw)
    if isinstance(parsed, IdProblem):
        errors["id_number"] = id_number_message(parsed)
        return None
    return parsed.number


def validate_activation(form) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    id_number = validate_id_field(form.get("id_number"), errors)
    name = "".join((form.get("name") or "").split())
    if not name:
        errors["name"] = _("Enter your full name as it appears on your ID card")
    elif len(name) > 50:
        errors["name"] = _("Your name must be 50 characters or fewer")
    return {"id_number": id_number, "name": name}, errors


def validate_new_password(form, min_length: int) -> tuple[str, dict[str, str]]:
    errors: dict[str, str] = {}
    password = form.get("password") or ""
    confirm = form.get("password_confirm") or ""
    if not password:
        errors["password"] = _("Enter a password")
    elif len(password) < min_length:
        errors["password"] = _(
            "Your password must be at least %(count)d characters", count=min_length
        )
    elif len(password) > 200:
        errors["password"] = _("Your password must be 200 characters or fewer")
    if not errors and password != confirm:
        errors["password_confirm"] = _("The passwords do not match: type the same password twice")
    return password, errors


def validate_sign_in(form) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    id_number = validate_id_field(form.get("id_number"), errors)
    password = form.get("password") or ""
    if not password:
        errors["password"] = _("Enter your password")
    return {"id_number": id_number, "password": password}, errors


def validate_staff_sign_in(form) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    username = (form.get("username") or "").strip().lower()
    password = form.get("password") or ""
    if not username:
        errors["username"] = _("Enter your staff username")
    if not password:
        errors["password"] = _("Enter your password")
    return {"username": username, "password": password}, errors
