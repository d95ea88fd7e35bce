"""The pilots forms: opting out, administrators' status changes and score events."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from ..forms import DateField, Form, IdNumberField, SelectField, collapse_spaces
from ..i18n import N_
from ..registry import Tag
from . import data

REASON_MAX = 500
SOURCE_MAX = 200

# Plain-language text for every refusal the data layer can raise.
PILOT_ERRORS = {
    "not_covered": _l("This pilot does not cover the region on your ID card."),
    "opt_in_paused": _l("This pilot is paused: nobody can opt in until it resumes. "
                        "You can still opt out."),
    "opt_in_closed": _l("This pilot has closed: nobody can opt in any more."),
    "cannot_pause": _l("Only an active pilot can be paused."),
    "cannot_resume": _l("Only a paused pilot can be resumed."),
    "cannot_close": _l("This pilot is already closed."),
    "unknown_rule": _l("Choose an event from the pilot's rule table"),
    "no_legal_basis": _l("This rule names no legal basis, so it may not be applied. "
                         "Nothing was stored."),
    "event_paused": _l("The pilot is paused: scores are frozen and no event can be "
                       "recorded. Nothing was stored."),
    "event_closed": _l("The pilot is closed: no event can be recorded. Nothing was stored."),
    "not_enrolled": _l("This resident is not enrolled in the pilot, so no event can be "
                       "recorded for them. Nothing was stored."),
    "before_opt_in": _l("The event happened before this resident opted in: only events from "
                        "the day they opted in may be recorded. Nothing was stored."),
}


# A resident's card speaks to them ("Pilot paused", "You are enrolled"); the admin
# pages, where the pilot and the resident are already named, use the short words.
CARD_PILOT_STATUSES = {
    data.ACTIVE: Tag(N_("Pilot active"), "green"),
    data.PAUSED: Tag(N_("Pilot paused"), "yellow"),
    data.CLOSED: Tag(N_("Pilot closed"), "grey"),
}
CARD_ENROLMENT_STATES = {
    "in": Tag(N_("You are enrolled"), "blue"),
    "out": Tag(N_("You are not enrolled"), "grey"),
}
PILOT_STATUSES = {
    data.ACTIVE: Tag(N_("Active"), "green"),
    data.PAUSED: Tag(N_("Paused"), "yellow"),
    data.CLOSED: Tag(N_("Closed"), "grey"),
}
ENROLMENT_STATES = {
    "in": Tag(N_("Enrolled"), "blue"),
    "out": Tag(N_("Not enrolled"), "grey"),
}


RULE_NOT_APPLIED = Tag(N_("Not applied: no legal basis"), "red")


def pilot_error_message(code: str) -> str:
    return str(PILOT_ERRORS.get(code, _l("That action is not possible.")))


class OptOutForm(Form):
    """Opt out (with the choice to erase the score events); made with the pilot's prefix
    so each card's checkbox has its own id."""

    erase = BooleanField()
    # Set only by the confirmation page: erasing asks first, saying what will be lost.
    confirmed = BooleanField()


class ReasonForm(Form):
    reason = TextAreaField(_l("Reason for this change"), filters=[collapse_spaces], validators=[
        DataRequired(_l("Enter the reason for this change")),
        Length(max=REASON_MAX, message=_l("The reason must be %(num)d characters or fewer",
                                          num=REASON_MAX)),
    ])


class LookupForm(Form):
    id_number = IdNumberField(_l("Resident ID number"),
                              empty_message=_l("Enter the resident's ID number"))


class EventForm(Form):
    """An event from the pilot's rule table; `choices` are the pilot's rules."""

    id_number = HiddenField()
    event_type = SelectField(_l("Event from the rule table"), choices=[])
    occurred_on = DateField(_l("Date it happened"),
                            invalid_message=_l("Enter the date the event happened as a real "
                                               "date, for example 27 3 2026"))
    reason = StringField(_l("What happened"), filters=[collapse_spaces], validators=[
        DataRequired(_l("Enter what happened, as stated in the source decision")),
        Length(max=REASON_MAX, message=_l("The reason must be %(num)d characters or fewer",
                                          num=REASON_MAX)),
    ])
    source = StringField(_l("Source authority"), filters=[collapse_spaces], validators=[
        DataRequired(_l("Enter the authority that made the decision")),
        Length(max=SOURCE_MAX, message=_l("The source must be 200 characters or fewer")),
    ])

    def __init__(self, *args, pilot: dict, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.pilot, self.today = pilot, today
        self.event_type.choices = [
            (event_type, _rule_choice_label(rule)) for event_type, rule in pilot["rules"].items()
        ]

    def validate_event_type(self, field) -> None:
        rule = self.pilot["rules"].get(field.data)
        if rule is None:
            raise ValidationError(_("Choose an event from the pilot's rule table"))
        if not data.rule_applicable(rule):
            raise ValidationError(pilot_error_message("no_legal_basis"))

    def validate_occurred_on(self, field) -> None:
        if field.data is None and not field.errors:
            raise ValidationError(_("Enter the date the event happened"))
        if field.data is not None and field.data > self.today:
            raise ValidationError(_("The date the event happened must be today or in the past"))


def _rule_choice_label(rule: dict) -> str:
    from ..formatters import localized

    label = f"{localized(rule, 'label')} ({int(rule['points']):+d})"
    if not data.rule_applicable(rule):
        label += " – " + _("no legal basis: may not be applied")
    return label
