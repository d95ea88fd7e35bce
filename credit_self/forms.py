"""What every form shares: Flask-WTF's FlaskForm with server-side validation only, the
resident ID field, the GOV.UK three-box date, and choice lists defined once.

Forms render through the macros in templates/macros/forms.html, which print each
field's label, hint, error message and the id the error summary links to.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
import wtforms
from wtforms import Field, SelectChoice, StringField, ValidationError
from wtforms.validators import StopValidation
from wtforms.utils import unset_value
from wtforms.widgets import TextInput

from . import identity
from .identity import IdProblem


class Form(FlaskForm):
    """A FlaskForm whose errors the error summary lists in page order.

    CSRF is checked for every POST by CSRFProtect (its token printed by the csrf_field
    macro), so forms do not check it a second time.
    """

    class Meta:
        csrf = False

    def error_list(self) -> list[tuple[str, str]]:
        """(id to link to, message) for each field with an error, top to bottom."""
        return [(field.id, str(field.errors[0])) for field in self if field.errors]

    def add_error(self, field_name: str, message: str | LazyString) -> None:
        """An error found after validation (a check against the database)."""
        field = self[field_name]
        field.errors = [*field.errors, message]

    def has_errors(self) -> bool:
        return any(field.errors for field in self)


@dataclass(frozen=True)
class Choices:
    """A choice list defined once: values with their words, for radios, selects and the
    pages that show a stored value."""

    items: tuple[tuple[str, LazyString | str], ...]

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.items)

    def label(self, value: str | None) -> LazyString | str:
        return dict(self.items).get(value or "", value or "")

    def __iter__(self):
        return iter(self.items)

    def __contains__(self, value: object) -> bool:
        return value in self.values


def strip(value: Any) -> Any:
    """Filter: drop leading and trailing spaces (and CRLF line ends) people type."""
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


def collapse_spaces(value: Any) -> Any:
    """Filter: any run of spaces becomes one (names, reasons on one line)."""
    return " ".join(value.split()) if isinstance(value, str) else value


ID_NUMBER_MESSAGES = {
    IdProblem.EMPTY: _l("Enter your resident ID number"),
    IdProblem.FORMAT: _l("Enter your resident ID number in the right format: 18 characters, "
                         "17 digits followed by a digit or X"),
    IdProblem.CHECKSUM: _l("This ID number is not valid: its last character does not match the "
                           "others. Check it against your ID card"),
    IdProblem.BIRTH_DATE: _l("This ID number is not valid: characters 7 to 14 are not a real "
                             "date of birth"),
    IdProblem.REGION: _l("This ID number is not valid: its first 6 digits are not a region "
                         "code in use for that year of birth"),
}


class IdNumberField(StringField):
    """A resident ID number as typed; validated by stdnum (identity.parse), with a specific
    message for each way it can be wrong. `.data` is the normalised number when valid."""

    def __init__(self, label: Any = None, validators: Iterable | None = None,
                 empty_message: LazyString | str | None = None, **kwargs: Any):
        super().__init__(label, validators, **kwargs)
        self.empty_message = empty_message

    def pre_validate(self, form: Any) -> None:
        parsed = identity.parse(self.data)
        if parsed is IdProblem.EMPTY and self.empty_message:
            raise ValidationError(self.empty_message)
        if isinstance(parsed, IdProblem):
            raise ValidationError(ID_NUMBER_MESSAGES[parsed])
        self.data = parsed.number


class DateField(Field):
    """A GOV.UK date: three boxes named `<name>-day`, `-month` and `-year`.

    `.data` is a `date`, or None when empty or not a real date; `.parts` keeps what was
    typed, so the page shows it again. Add DataRequired-like checks in the form.
    """

    widget = TextInput()

    def __init__(self, label: Any = None, validators: Iterable | None = None,
                 invalid_message: LazyString | str = _l("Enter a real date"), **kwargs: Any):
        super().__init__(label, validators, **kwargs)
        self.parts = {"day": "", "month": "", "year": ""}
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist: list[Any]) -> None:
        pass  # the three boxes are read in process() below

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        if isinstance(self.data, date):
            self.parts = {"day": str(self.data.day), "month": str(self.data.month),
                          "year": str(self.data.year)}
        if formdata is None:
            return
        self.parts = {part: "".join(formdata.get(f"{self.name}-{part}", "").split())
                      for part in ("day", "month", "year")}
        self.data = None
        if not any(self.parts.values()):
            return
        try:
            day, month, year = (int(self.parts[p]) for p in ("day", "month", "year"))
            # Four-digit years only: anything else is a typo, never the year 26 or 20260.
            if not 1000 <= year <= 9999:
                raise ValueError(year)
            self.data = date(year, month, day)
        except (ValueError, OverflowError):
            self.process_errors.append(self.invalid_message)


class _OneOfTheChoices:
    """Radios and selects that answer anything but one of their choices (nothing, a
    forged value, one that does not convert) with the field's own words ("Select ...").

    Choices may be given as (value, label) pairs, as every list here is (a `Choices` or
    one made per request); WTForms takes them as SelectChoice.
    """

    def __init__(self, label: Any = None, validators: Iterable | None = None,
                 message: LazyString | str | None = None, **kwargs: Any):
        kwargs["validate_choice"] = False
        kwargs["choices"] = _select_choices(kwargs.get("choices"))
        super().__init__(label, validators, **kwargs)
        self.message = message

    # Assigned choices (lists made per request) are turned into SelectChoice too.
    choices = property(wtforms.SelectField.choices.fget,
                       lambda self, pairs: wtforms.SelectField.choices.fset(self, _select_choices(pairs)))

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None

    def pre_validate(self, form: Any) -> None:
        if self.message is not None and self.data not in [choice.value for choice in self.choices]:
            raise StopValidation(self.message)


def _select_choices(pairs: Iterable | None) -> list[SelectChoice]:
    return [pair if isinstance(pair, SelectChoice) else SelectChoice(*pair) for pair in pairs or []]


class RadioField(_OneOfTheChoices, wtforms.RadioField):
    pass


class SelectField(_OneOfTheChoices, wtforms.SelectField):
    pass
