"""The sign-in, activation and password forms."""
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from ..forms import Form, IdNumberField, collapse_spaces

NAME_MAX = 50
PASSWORD_MAX = 200


def _no_spaces(value):
    return "".join(value.split()) if isinstance(value, str) else value


def _no_spaces_or_hyphens(value):
    return _no_spaces(value).replace("-", "") if isinstance(value, str) else value


# Made before the new-password fields, which WTForms orders by creation: the change
# password form then lists its errors top to bottom, as the page shows its fields.
_CURRENT_PASSWORD = PasswordField(_l("Your current password"), validators=[
    DataRequired(_l("Enter your current password"))])


class ActivationForm(Form):
    id_number = IdNumberField(_l("Resident ID number"))
    name = StringField(_l("Full name"), filters=[_no_spaces], validators=[
        DataRequired(_l("Enter your full name as it appears on your ID card")),
        Length(max=NAME_MAX, message=_l("Your name must be 50 characters or fewer")),
    ])


class CodeForm(Form):
    """The one-time code sent by text message (spaces and hyphens ignored)."""

    code = StringField(_l("Code from the text message"), filters=[_no_spaces_or_hyphens], validators=[
        DataRequired(_l("Enter the 6-digit code from the text message")),
        Regexp(r"^[0-9]{6}$", message=_l("The code is 6 digits, for example 123456")),
    ])


class NewPasswordForm(Form):
    """Choose a password; the minimum length comes from the MIN_PASSWORD_LENGTH setting."""

    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter a password"))])
    password_confirm = PasswordField(_l("Type the password again"), validators=[
        EqualTo("password", _l("The passwords do not match: type the same password twice")),
    ])

    def __init__(self, *args, min_length: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.min_length = min_length

    def validate_password(self, field) -> None:
        from wtforms import ValidationError

        if len(field.data) < self.min_length:
            raise ValidationError(_l("Your password must be at least %(count)d characters",
                                     count=self.min_length))
        if len(field.data) > PASSWORD_MAX:
            raise ValidationError(_l("Your password must be 200 characters or fewer"))

    def validate(self, extra_validators=None) -> bool:
        # "Do not match" is only worth saying once the password itself is acceptable.
        if not super().validate(extra_validators):
            if self.password.errors:
                self.password_confirm.errors = []
            return False
        return True


class ChangePasswordForm(NewPasswordForm):
    current_password = _CURRENT_PASSWORD


class SignInForm(Form):
    id_number = IdNumberField(_l("Resident ID number"))
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password"))])


class StaffSignInForm(Form):
    username = StringField(_l("Username"), filters=[collapse_spaces, lambda v: v.lower() if v else v],
                           validators=[DataRequired(_l("Enter your staff username"))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password"))])


class StaffCodeForm(Form):
    """The second step of a staff sign-in: a code from the app, or a recovery code."""

    code = StringField(_l("Code from your authenticator app, or a recovery code"), validators=[
        DataRequired(_l("Enter the 6-digit code from your authenticator app, or a recovery code")),
        Length(max=40, message=_l("A code is 6 digits, a recovery code 16 letters and digits")),
    ])


class EnrolmentCodeForm(Form):
    """Confirm the authenticator app: the code it shows for the new secret."""

    code = StringField(_l("Code from your authenticator app"), validators=[
        DataRequired(_l("Enter the 6-digit code your authenticator app shows")),
    ])

    def validate_code(self, field) -> None:
        from wtforms import ValidationError

        from .second_factor import is_totp_code, normalise_code

        if not is_totp_code(normalise_code(field.data)):
            raise ValidationError(_l("Enter the 6 digits your authenticator app shows, "
                                     "like 123456"))
