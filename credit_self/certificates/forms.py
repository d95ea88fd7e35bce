"""The issue form, the verifier's optional declaration, and the words for what a
certificate is for and its status."""
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import SelectChoice, SelectMultipleField, StringField
from wtforms.validators import Length, StopValidation

from ..forms import Choices, Form, RadioField, collapse_spaces
from ..i18n import N_
from ..registry import Tag
from . import statements, store

AUDIENCE_MAX = 80
DECLARATION_MAX = 80

PURPOSES = Choices((
    ("rental", _l("Renting a home")),
    ("employment", _l("A job")),
    ("bidding", _l("Bidding for a contract")),
    ("other", _l("Something else")),
))
ONLINE = "online"
OFFLINE = "offline"
MODES = Choices((
    (ONLINE, _l("Online, logged")),
    (OFFLINE, _l("Offline, unlinkable")),
))
MODE_HINTS = {
    ONLINE: _l("The person checking scans a code and this service answers live; every "
               "check is in your scan log."),
    OFFLINE: _l("A signed credential the person checking verifies on their own phone, "
                "even without a connection; nobody, not even this service, learns of it."),
}
# What the offline verifier's script says, translated on the server.
VERIFIER_TEXT = {
    "valid": _l("Valid: signed by the issuer, not expired, not revoked"),
    "expired": _l("Expired: ask the holder for a new one"),
    "not_valid": _l("Not valid"),
    "unavailable": _l("Cannot confirm on this phone yet"),
    "valid_explanation": _l("Each statement below was true when the credential was issued, "
                            "and the holder had not revoked it when the revocation list "
                            "was made."),
    "expired_explanation": _l("The issuer's signature is genuine, but its validity has ended."),
    "not_valid_explanation": _l("This credential cannot be accepted: it was changed, not "
                                "signed by this issuer, or revoked. Ask the holder about it."),
    "unavailable_explanation": _l("This phone has no revocation list for this credential "
                                  "yet. Connect to the internet once and check again; do not "
                                  "treat it as valid until then."),
    "status_age": _l("Revocations known up to %(time)s, China Standard Time."),
    "not_stated": _l("Not stated"),
    "camera_failed": _l("The camera could not be used. Paste the credential instead."),
}
STATUSES = {
    store.VALID: Tag(N_("Valid"), "green"),
    store.EXPIRED: Tag(N_("Expired"), "grey"),
    store.REVOKED: Tag(N_("Revoked"), "red"),
    store.RESTRICTED: Tag(N_("Not valid: restrictions apply"), "red"),
}


def validity_label(hours: int) -> str:
    if hours < 24:
        return ngettext("%(num)d hour", "%(num)d hours", hours)
    return ngettext("%(num)d day", "%(num)d days", hours // 24)


class StatementsField(SelectMultipleField):
    """Checkboxes of statements: any value not in the catalog, or none at all, gets the
    field's own message."""

    def __init__(self, label=None, validators=None, message=None, **kwargs):
        super().__init__(label, validators, validate_choice=False, **kwargs)
        self.message = message

    def pre_validate(self, form) -> None:
        if not self.data or not set(self.data) <= set(statements.STATEMENTS.values):
            raise StopValidation(self.message)


class IssueForm(Form):
    statements = StatementsField(_l("What should it state?"),
                                 choices=[SelectChoice(code, label)
                                          for code, label in statements.STATEMENTS],
                                 default=list(statements.PRESET),
                                 message=_l("Select at least one statement"))
    purpose = RadioField(_l("What is it for?"), choices=list(PURPOSES),
                         message=_l("Select what the certificate is for"))
    audience = StringField(_l("Who is it for? (optional)"), filters=[collapse_spaces], validators=[
        Length(max=AUDIENCE_MAX, message=_l("Who it is for must be %(max)d characters or fewer",
                                            max=AUDIENCE_MAX))])
    hours = RadioField(_l("How long should it last?"), coerce=int,
                       default=store.DEFAULT_VALIDITY_HOURS,
                       message=_l("Select how long the certificate lasts"))
    mode = RadioField(_l("How will it be checked?"), choices=list(MODES), default=ONLINE,
                      message=_l("Select how the certificate will be checked"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hours.choices = [(hours, validity_label(hours)) for hours in store.VALIDITY_HOURS]


class DeclarationForm(Form):
    """What an online verifier may tell the holder about themselves (read from the query
    string: verification is a GET, and the scan it logs carries the declaration)."""

    who = StringField(_l("Who are you? (optional)"), filters=[collapse_spaces], validators=[
        Length(max=DECLARATION_MAX, message=_l("Who you are must be %(max)d characters or fewer",
                                               max=DECLARATION_MAX))])
    why = StringField(_l("Why are you checking? (optional)"), filters=[collapse_spaces],
                      validators=[Length(max=DECLARATION_MAX, message=_l(
                          "Why you are checking must be %(max)d characters or fewer",
                          max=DECLARATION_MAX))])
