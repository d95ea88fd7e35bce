"""Validation of the issue form (GOV.UK pattern: one message per field, same words in
the error summary and beside the field)."""
from dataclasses import dataclass, field


from ..i18n import lazy_gettext as _l
from . import store

AUDIENCE_MAX = 80

PURPOSE_LABELS = {
    "rental": _l("Renting a home"),
    "employment": _l("A job"),
    "other": _l("Something else"),
}


@dataclass
class IssueForm:
    purpose: str = ""
    audience: str = ""
    days: str = str(store.DEFAULT_VALIDITY_DAYS)
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_request(cls, form) -> "IssueForm":
        return cls(
            purpose=(form.get("purpose") or "").strip(),
            audience=" ".join((form.get("audience") or "").split()),
            days=(form.get("days") or "").strip(),
        )

    def validate(self) -> bool:
        self.errors = {}
        if self.purpose not in store.PURPOSES:
            self.errors["purpose"] = _l("Select what the certificate is for")
        if len(self.audience) > AUDIENCE_MAX:
            self.errors["audience"] = _l(
                "Who it is for must be %(max)d characters or fewer", max=AUDIENCE_MAX
            )
        if self.days not in {str(d) for d in store.VALIDITY_DAYS}:
            self.errors["days"] = _l("Select how long the certificate lasts")
        return not self.errors
