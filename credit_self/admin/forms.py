"""The staff account forms, and the words for staff roles."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField

from ..forms import Choices, Form, SelectField, collapse_spaces
from ..i18n import N_
from ..registry import Tag

ROLES = Choices((
    ("pilot_admin", _l("Pilot administrator")),
    ("reviewer", _l("Correction reviewer")),
    ("superadmin", _l("Superadmin")),
))
ACCOUNT_STATUSES = {
    "active": Tag(N_("Active"), "green"),
    "disabled": Tag(N_("Disabled"), "grey"),
}


class RoleForm(Form):
    role = SelectField(_l("Role"), choices=[("", _l("Choose a role")), *ROLES],
                       message=_l("Select a role"))
    pilot_code = SelectField(_l("Pilot (pilot administrators only)"), choices=[])

    def __init__(self, *args, pilots: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.pilot_code.choices = [("", _l("No pilot")), *pilots]
        if not self.role.data:
            self.role.data = ""

    def validate_role(self, field) -> None:
        from wtforms import ValidationError

        if field.data not in ROLES:
            raise ValidationError(_l("Select a role"))


class NewStaffForm(RoleForm):
    username = StringField(_l("User name"), filters=[collapse_spaces])
    display_name = StringField(_l("Role or office shown to residents"), filters=[collapse_spaces])
    password = PasswordField(_l("Password"))

    # The page asks for the name first.
    field_order = ("username", "display_name", "role", "pilot_code", "password")

    def error_list(self) -> list[tuple[str, str]]:
        fields = [self[name] for name in self.field_order]
        return [(field.id, str(field.errors[0])) for field in fields if field.errors]


class StatusForm(Form):
    """Disable (checked) or enable the account: the button sends the value."""

    disable = BooleanField(false_values=("", "false", "no"))
