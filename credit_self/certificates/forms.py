"""The issue form, and the words for what a certificate is for and its status."""
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import StringField
from wtforms.validators import Length

from ..forms import Choices, Form, RadioField, collapse_spaces
from ..i18n import N_
from ..registry import Tag
from . import store

AUDIENCE_MAX = 80

PURPOSES = Choices((
    ("rental", _l("Renting a home")),
    ("employment", _l("A job")),
    ("other", _l("Something else")),
))
STATUSES = {
    store.VALID: Tag(N_("Valid"), "green"),
    store.EXPIRED: Tag(N_("Expired"), "grey"),
    store.REVOKED: Tag(N_("Revoked"), "red"),
}


class IssueForm(Form):
    purpose = RadioField(_l("What is it for?"), choices=list(PURPOSES),
                         message=_l("Select what the certificate is for"))
    audience = StringField(_l("Who is it for? (optional)"), filters=[collapse_spaces], validators=[
        Length(max=AUDIENCE_MAX, message=_l("Who it is for must be %(max)d characters or fewer",
                                            max=AUDIENCE_MAX))])
    days = RadioField(_l("How long should it last?"), coerce=int,
                      default=store.DEFAULT_VALIDITY_DAYS,
                      message=_l("Select how long the certificate lasts"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.days.choices = [(days, ngettext("%(num)d day", "%(num)d days", days))
                             for days in store.VALIDITY_DAYS]
