"""Validation of the transparency pages' forms (upload, audit filters)."""
from dataclasses import dataclass, field
from datetime import date


from ..i18n import lazy_gettext as _l
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
    "unknown_list": _l("The list code is not a known list"),
    "duplicate_in_file": _l("The same document number appears earlier in the file"),
    "document_other_person": _l("This document number is already on the list for another person"),
}
PARTIAL_REQUIRED = _l("Some rows were rejected: tick the box to import only the valid rows")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@dataclass
class ImportUpload:
    list_code: str
    filename: str = ""
    rows: list[dict] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(cls, request, lists: dict) -> "ImportUpload":
        form = cls(list_code=request.form.get("list_code", "").strip())
        if form.list_code not in lists:
            form.errors["list_code"] = str(_l("Select the list the file belongs to"))
        upload = request.files.get("feed")
        if upload is None or not upload.filename:
            form.errors["feed"] = str(_l("Select a CSV file"))
            return form
        form.filename = upload.filename[:200]
        raw = upload.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            form.errors["feed"] = str(_l("The file must be smaller than 20 MB"))
            return form
        try:
            form.rows = imports.read_csv(raw.decode("utf-8"))
        except UnicodeDecodeError:
            form.errors["feed"] = str(_l("The file must be a CSV file saved as UTF-8"))
        except imports.ImportFileError as problem:
            if str(problem):
                form.errors["feed"] = str(_l("The file is missing columns: %(columns)s", columns=str(problem)))
            else:
                form.errors["feed"] = str(_l("The file has no rows"))
        return form


@dataclass
class AuditFilters:
    actor: str = ""
    action: str = ""
    subject: str = ""
    date_from: str = ""
    date_to: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args) -> "AuditFilters":
        filters = cls(**{name: args.get(name, "").strip()[:100] for name in
                         ("actor", "action", "subject", "date_from", "date_to")})
        for name in ("date_from", "date_to"):
            value = getattr(filters, name)
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    filters.errors[name] = str(_l("Enter the date as YYYY-MM-DD, for example 2026-03-27"))
        return filters

    def query(self) -> dict[str, str]:
        """The filters to apply; an invalid date is left out (and shown as an error)."""
        return {
            name: getattr(self, name)
            for name in ("actor", "action", "subject", "date_from", "date_to")
            if name not in self.errors
        }

    def args(self) -> dict[str, str]:
        return {k: v for k, v in self.query().items() if v}
