"""The corrections forms, and every word list of the capability, each defined once."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.file import FileSize, MultipleFileField
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from ..forms import Choices, DateField, Form, RadioField, SelectField, strip
from ..i18n import N_
from ..registry import Tag
from . import data, evidence

STATEMENT_MIN = 20
STATEMENT_MAX = 4000
EVIDENCE_MAX = 2000
NOTE_MAX = 4000

CATEGORIES = Choices((
    ("not_me", _l("This entry is not about me")),
    ("wrong_facts", _l("The facts are wrong")),
    ("fulfilled", _l("I have already fulfilled the obligation")),
    ("expired", _l("It should have expired")),
    ("other", _l("Another reason")),
))
# What a repair application gives as its reason (it has no category of its own).
REPAIR_REASON = _l("Credit repair: the conduct was corrected")
KINDS = Choices((
    (data.OBJECTION, _l("Objection")),
    (data.RESTORATION, _l("Credit repair application")),
))
STATUSES = {
    "submitted": Tag(N_("Submitted"), "blue"),
    "in_review": Tag(N_("In review"), "blue"),
    "forwarded": Tag(N_("With the source agency"), "yellow"),
    "upheld": Tag(N_("Upheld"), "green"),
    "rejected": Tag(N_("Rejected"), "red"),
    "withdrawn": Tag(N_("Withdrawn"), "grey"),
}
OVERDUE = Tag(N_("Overdue"), "red")
NEW_MESSAGE = Tag(N_("New"), "blue")
UNDER_DISPUTE = Tag(N_("Under dispute"), "yellow")
OUTCOMES = Choices((
    ("uphold", _l("Uphold: the resident is right")),
    ("reject", _l("Reject")),
))
OBJECTION_ACTIONS = Choices((
    ("withdraw", _l("Withdraw the entry")),
    ("correct_facts", _l("Correct its facts")),
    ("earlier_expiry", _l("Set an earlier end date")),
))
REPAIR_ACTIONS = Choices((("restore", _l("Restore credit: the entry stops applying")),))
# What an upheld decision did, as the resident reads it.
ACTION_RESULTS = {
    "withdraw": _l("The entry was withdrawn."),
    "restore": _l("Your credit was restored: the entry no longer applies."),
    "correct_facts": _l("The facts of the entry were corrected."),
    "earlier_expiry": _l("The entry now ends earlier."),
}
# What an inbox message names when a feed or a decision changed an entry.
CHANGED_FIELDS = {
    "status": _l("its status"),
    "facts": _l("what was recorded"),
    "expires_on": _l("its end date"),
    "listed_on": _l("its listing date"),
    "recorded_name": _l("the name recorded"),
    "source_agency": _l("the agency that recorded it"),
}
# The timeline's words for each event.
EVENTS = {
    "submitted": _l("Submitted"),
    "in_review": _l("Review started"),
    "forwarded": _l("Forwarded to the source agency"),
    "agency_answer": _l("The source agency answered"),
    "info_added": _l("You added information"),
    "evidence_added": _l("Evidence added"),
    "upheld": _l("Upheld"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn by you"),
}
# What an evidence file is, by the type found in its content.
EVIDENCE_TYPES = {
    "image/jpeg": _l("photo"),
    "image/png": _l("image"),
    "application/pdf": _l("PDF document"),
}
EVIDENCE_HINT = _l("Up to 5 files: photos or scans (JPEG or PNG) or PDF documents, each 5 MB "
                   "or smaller.")
QUEUE_STATUSES = Choices((
    ("open", _l("Open (not yet decided)")),
    ("all", _l("All")),
    *((status, _l(tag.words)) for status, tag in STATUSES.items()),
))


def _statement_length(form, field) -> None:
    if len(field.data) < STATEMENT_MIN:
        raise ValidationError(_l("Your statement must be 20 characters or more"))
    if len(field.data) > STATEMENT_MAX:
        raise ValidationError(_l("Your statement must be 4,000 characters or fewer"))


def _chosen(field) -> list:
    """The files the resident chose (a form sent without any carries one empty part)."""
    return [f for f in (field.data or []) if f and f.filename]


class EvidenceCheck:
    """At most evidence.MAX_FILES per correction (counting those already there), none
    empty, each a JPEG, PNG or PDF by its content: the name and the browser's type are
    not trusted. Accepted files are read into `field.uploads`."""

    def __call__(self, form, field) -> None:
        field.uploads = []
        if field.errors:  # a file is too large: nothing is read
            return
        chosen = _chosen(field)
        existing = getattr(form, "existing_files", 0)
        if existing + len(chosen) > evidence.MAX_FILES:
            if existing:
                raise ValidationError(ngettext(
                    "This correction already has %(num)d file. It can have 5 in all",
                    "This correction already has %(num)d files. It can have 5 in all",
                    existing))
            raise ValidationError(_("Choose 5 files or fewer"))
        for storage in chosen:
            content = storage.read(evidence.MAX_BYTES + 1)
            name = storage.filename
            if not content:
                raise ValidationError(_("The file “%(name)s” is empty", name=name))
            mime = evidence.content_type(content[:512])
            if mime is None:
                raise ValidationError(_("The file “%(name)s” must be a photo (JPEG or PNG) "
                                        "or a PDF", name=name))
            field.uploads.append(evidence.Upload(evidence.display_name(name, mime), mime,
                                                 content))


def evidence_files(label) -> MultipleFileField:
    return MultipleFileField(label, validators=[
        FileSize(evidence.MAX_BYTES, message=_l("Each file must be 5 MB or smaller")),
        EvidenceCheck()])


class FilingForm(Form):
    """An objection (with its category) or a repair application (with the commitment)."""

    category = RadioField(_l("Why is the entry wrong?"), choices=list(CATEGORIES),
                          message=_l("Select why the entry is wrong"))
    statement = TextAreaField(_l("Your statement"), filters=[strip], validators=[
        DataRequired(_l("Enter your statement")), _statement_length])
    evidence = TextAreaField(_l("Evidence (optional)"), filters=[strip], validators=[
        Length(max=EVIDENCE_MAX, message=_l("Evidence must be 2,000 characters or fewer"))])
    files = evidence_files(_l("Evidence files (optional)"))
    commitment = BooleanField(_l(
        "Credit commitment: I promise that what I have said is true, that I have corrected "
        "the conduct, and that I will keep my obligations from now on. I understand that a "
        "false commitment is itself recorded as dishonest conduct."),
        validators=[DataRequired(_l("Confirm the credit commitment"))])

    def __init__(self, *args, kind: str, existing_files: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.existing_files = existing_files
        # Each kind asks only its own questions.
        del self[("category" if kind == data.RESTORATION else "commitment")]
        if kind == data.RESTORATION:
            self.statement.label.text = _l("How did you correct the conduct?")

    def answers(self) -> dict:
        return {"category": self.category.data if "category" in self else "",
                "statement": self.statement.data, "evidence": self.evidence.data,
                "commitment": bool(self.commitment.data) if "commitment" in self else False}


class InformationForm(Form):
    """Text, evidence files or both."""

    information = TextAreaField(_l("What do you want to add?"), filters=[strip], validators=[
        Length(max=NOTE_MAX, message=_l("Information must be 4,000 characters or fewer"))])
    files = evidence_files(_l("Evidence files (optional)"))

    def __init__(self, *args, existing_files: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.existing_files = existing_files

    def validate_information(self, field) -> None:
        if not field.data and not _chosen(self.files):
            raise ValidationError(_l("Enter the information you want to add, or choose a file"))


class ForwardForm(Form):
    agency_note = TextAreaField(_l("Note to the agency (optional)"), filters=[strip], validators=[
        Length(max=NOTE_MAX, message=_l("The note must be 4,000 characters or fewer"))])


class AnswerForm(Form):
    answer = TextAreaField(_l("The agency's answer"), filters=[strip], validators=[
        DataRequired(_l("Enter the agency's answer")),
        Length(max=NOTE_MAX, message=_l("The answer must be 4,000 characters or fewer"))])


class DecisionForm(Form):
    """Uphold needs an action (and its value); reject needs a reason the resident reads."""

    outcome = RadioField(_l("Decision"), choices=list(OUTCOMES),
                         message=_l("Select a decision"))
    action = RadioField(_l("If you uphold: what changes in the entry"), choices=[])
    facts = TextAreaField(_l("Corrected facts (when correcting facts)"), filters=[strip],
                          validators=[Length(max=NOTE_MAX, message=_l(
                              "The corrected facts must be 4,000 characters or fewer"))])
    expiry = DateField(_l("New end date (when setting an earlier end date)"),
                       invalid_message=_l("Enter a real end date, for example 27 3 2026"))
    note = TextAreaField(_l("Reason for your decision"), filters=[strip], validators=[
        DataRequired(_l("Enter the reason for your decision")),
        Length(max=NOTE_MAX, message=_l("The reason must be 4,000 characters or fewer"))])

    def __init__(self, *args, correction: dict, entry: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.entry = entry
        actions = REPAIR_ACTIONS if correction["kind"] == data.RESTORATION else OBJECTION_ACTIONS
        self.action.choices = list(actions)
        self.allowed_actions = actions.values

    def validate_action(self, field) -> None:
        if self.outcome.data == "uphold" and field.data not in self.allowed_actions:
            raise ValidationError(_l("Select what to change in the entry"))

    def validate_facts(self, field) -> None:
        if self.outcome.data == "uphold" and self.action.data == "correct_facts" and not field.data:
            raise ValidationError(_l("Enter the corrected facts"))

    def validate_expiry(self, field) -> None:
        if not (self.outcome.data == "uphold" and self.action.data == "earlier_expiry"):
            field.errors = []  # only this action reads the date
            return
        if field.errors:
            return
        new = field.data
        if new is None:
            raise ValidationError(_l("Enter a real end date, for example 27 3 2026"))
        if self.entry["expires_on"] and new >= date.fromisoformat(self.entry["expires_on"]):
            raise ValidationError(_l("The new end date must be earlier than the current one"))
        if new < date.fromisoformat(self.entry["listed_on"]):
            raise ValidationError(_l("The new end date must be on or after the listing date"))


class QueueFilters(Form):
    """The reviewers' queue filters (a GET form: shareable, bookmarkable)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=list(QUEUE_STATUSES), default="open")
    list = SelectField(_l("List"), choices=[], default="")

    def __init__(self, *args, lists: list[dict], list_names: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.list.choices = list_names
        if self.status.data not in QUEUE_STATUSES:
            self.status.data = "open"
        if self.list.data not in {row["code"] for row in lists}:
            self.list.data = ""
