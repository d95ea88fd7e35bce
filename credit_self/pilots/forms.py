"""Validation for the pilots forms (GOV.UK pattern: field id -> message, in page order)."""
from datetime import date


from ..auth.forms import validate_id_field
from ..i18n import gettext as _
from . import data

REASON_MAX = 500


def pilot_error_message(code: str) -> str:
    """Plain-language text for every refusal the data layer can raise."""
    messages = {
        "not_covered": _("This pilot does not cover the region on your ID card."),
        "opt_in_paused": _("This pilot is paused: nobody can opt in until it resumes. "
                           "You can still opt out."),
        "opt_in_closed": _("This pilot has closed: nobody can opt in any more."),
        "cannot_pause": _("Only an active pilot can be paused."),
        "cannot_resume": _("Only a paused pilot can be resumed."),
        "cannot_close": _("This pilot is already closed."),
        "unknown_rule": _("Choose an event from the pilot's rule table"),
        "no_legal_basis": _("This rule names no legal basis, so it may not be applied. "
                            "Nothing was stored."),
        "event_paused": _("The pilot is paused: scores are frozen and no event can be "
                          "recorded. Nothing was stored."),
        "event_closed": _("The pilot is closed: no event can be recorded. Nothing was stored."),
        "not_enrolled": _("This resident is not enrolled in the pilot, so no event can be "
                          "recorded for them. Nothing was stored."),
    }
    return messages.get(code, _("That action is not possible."))


def validate_reason(form) -> tuple[str, dict[str, str]]:
    errors: dict[str, str] = {}
    reason = " ".join((form.get("reason") or "").split())
    if not reason:
        errors["reason"] = _("Enter the reason for this change")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("The reason must be %(num)d characters or fewer", num=REASON_MAX)
    return reason, errors


def validate_lookup(form) -> tuple[str | None, dict[str, str]]:
    errors: dict[str, str] = {}
    return validate_id_field(form.get("id_number"), errors), errors


def validate_event(form, pilot: dict, today: date) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    event_type = form.get("event_type") or ""
    rule = pilot["rules"].get(event_type)
    if rule is None:
        errors["event_type"] = _("Choose an event from the pilot's rule table")
    elif not data.rule_applicable(rule):
        errors["event_type"] = _("This rule names no legal basis, so it may not be applied. "
                                 "Nothing was stored.")
    occurred = None
    raw_date = (form.get("occurred_on") or "").strip()
    try:
        occurred = date.fromisoformat(raw_date)
    except ValueError:
        errors["occurred_on"] = _("Enter the date the event happened, like 2026-03-27")
    else:
        if occurred > today:
            errors["occurred_on"] = _("The date the event happened must be today or in the past")
    reason = " ".join((form.get("reason") or "").split())
    if not reason:
        errors["reason"] = _("Enter what happened, as stated in the source decision")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("The reason must be %(num)d characters or fewer", num=REASON_MAX)
    source = " ".join((form.get("source") or "").split())
    if not source:
        errors["source"] = _("Enter the authority that made the decision")
    elif len(source) > 200:
        errors["source"] = _("The source must be 200 characters or fewer")
    return {"event_type": event_type, "occurred_on": occurred, "reason": reason,
            "source": source}, errors
