"""The transparency pages' forms: a list feed upload, confirming it, the audit filters."""
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, ValidationError

from ..forms import Form, SelectField
from ..i18n import N_
from ..registry import Tag
from . import imports

# Rejection reasons as the result page words them.
REASONS = {
    "missing_field": _l("A required value is missing (ID number, name, document number or listing date)"),
    "id_invalid": _l("The ID number is not valid (wrong length, characters or check digit)"),
    "unknown_resident": _l("No resident with this ID number is in the register"),
    "name_mismatch": _l("The name does not match the register for this ID number"),
    "bad_date": _l("A date is not a real date in the form YYYY-MM-DD"),
    "dates_out_of_order": _l("The end date is not after the listing date"),
    "listed_in_future": _l("The listing date is in the future"),
    "publish_before_import": _l("The publication date (publish_on) is before today: a notice "
                                "period must start on or after the import date"),
    "unknown_list": _l("The list code is not a known list"),
    "duplicate_in_file": _l("The same document number appears earlier in the file"),
    "document_other_person": _l("This document number is already on the list for another person"),
}
ROW_STATUSES = {
    "accepted": Tag(N_("Accepted"), "green"),
    "rejected": Tag(N_("Rejected"), "red"),
}
BATCH_STATUSES = {
    "imported": Tag(N_("Imported"), "green"),
    "validated": Tag(N_("Not imported yet"), "yellow"),
}


class ImportForm(Form):
    """A department's feed: which list, and the CSV file (read and checked here)."""

    list_code = SelectField(_l("List"), choices=[], message=_l("Select the list the file belongs to"))
    feed = FileField(_l("CSV file"))

    def __init__(self, *args, lists: dict[str, dict], list_names: list[tuple[str, str]],
                 max_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.list_code.choices = list_names
        self.lists = lists
        self.max_bytes = max_bytes
        self.rows: list[dict] = []
        self.filename = ""

    def validate_list_code(self, field) -> None:
        # "Choose a list" is one of the choices, so the select alone lets it through.
        if field.data not in self.lists:
            raise ValidationError(_l("Select the list the file belongs to"))

    def validate_feed(self, field) -> None:
        upload = field.data
        if upload is None or not getattr(upload, "filename", ""):
            raise ValidationError(_l("Select a CSV file"))
        self.filename = upload.filename[:200]
        raw = upload.read(self.max_bytes + 1)
        if len(raw) > self.max_bytes:
            raise ValidationError(_l("The file must be smaller than 20 MB"))
        try:
            self.rows = imports.read_csv(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ValidationError(_l("The file must be a CSV file saved as UTF-8")) from None
        except imports.ImportFileError as problem:
            raise ValidationError({
                "missing_columns": _l("The file is missing columns: %(columns)s",
                                      columns=problem.detail),
                "no_rows": _l("The file has no rows"),
                "field_too_long": _l("A value in the file is longer than 10,000 characters "
                                     "(row ending on line %(line)s)", line=problem.detail),
            }.get(problem.code, _l("The file is not a CSV file that can be read"))) from None


class ConfirmImportForm(Form):
    partial = BooleanField()

    def __init__(self, *args, rejected: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.rejected = rejected

    def validate_partial(self, field) -> None:
        if self.rejected and not field.data:
            raise ValidationError(_l("Some rows were rejected: tick the box to import only the "
                                     "valid rows"))


def _date(form, field) -> None:
    if field.data:
        try:
            # Compared with the log's ISO text: other forms fromisoformat takes (20260327)
            # would not sort among it.
            if date.fromisoformat(field.data).isoformat() == field.data:
                return
        except ValueError:
            pass
        raise ValidationError(_l("Enter the date as YYYY-MM-DD, for example 2026-03-27"))


def _short(value):
    return value.strip()[:100] if isinstance(value, str) else value


class AuditFilters(Form):
    """The audit log viewer's filters (a GET form: shareable links). An invalid date is
    left out of the search and shown as an error."""

    actor = StringField(_l("Actor (part of it, e.g. reviewer:)"), filters=[_short])
    action = SelectField(_l("Action"), choices=[])
    subject = StringField(_l("Subject ID number"), filters=[_short])
    date_from = StringField(_l("From date (YYYY-MM-DD)"), filters=[_short], validators=[_date])
    date_to = StringField(_l("To date (YYYY-MM-DD)"), filters=[_short], validators=[_date])

    FIELDS = ("actor", "action", "subject", "date_from", "date_to")

    def __init__(self, *args, actions: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.action.choices = [("", _l("Any action")), *((code, code) for code in actions)]

    def query(self) -> dict[str, str]:
        """The filters to apply (an invalid date is left out)."""
        return {name: self[name].data or "" for name in self.FIELDS if not self[name].errors}

    def args(self) -> dict[str, str]:
        return {key: value for key, value in self.query().items() if value}
