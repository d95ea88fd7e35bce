"""Validation of the corrections forms, GOV.UK style: one message per field, worded the
same in the error summary and beside the field."""
from datetime import date


from ..i18n import lazy_gettext as _l
from .data import CATEGORIES, UPHOLD_ACTIONS

STATEMENT_MIN = 20
STATEMENT_MAX = 4000
EVIDENCE_MAX = 2000
NOTE_MAX = 4000

MESSAGES = {
    "category_missing": _l("Select why the entry is wrong"),
    "statement_missing": _l("Enter your statement"),
    "statement_short": _l("Your statement must be 20 characters or more"),
    "statement_long": _l("Your statement must be 4,000 characters or fewer"),
    "evidence_long": _l("Evidence must be 2,000 characters or fewer"),
    "commitment_missing": _l("Confirm the credit commitment"),
    "info_missing": _l("Enter the information you want to add"),
    "info_long": _l("Information must be 4,000 characters or fewer"),
    "outcome_missing": _l("Select a decision"),
    "action_missing": _l("Select what to change in the entry"),
    "note_missing": _l("Enter the reason for your decision"),
    "note_long": _l("The reason must be 4,000 characters or fewer"),
    "facts_missing": _l("Enter the corrected facts"),
    "expiry_invalid": _l("Enter a real end date, for example 27 3 2026"),
    "expiry_not_earlier": _l("The new end date must be earlier than the current one"),
    "expiry_before_listing": _l("The new end date must be on or after the listing date"),
    "answer_missing": _l("Enter the agency's answer"),
}


def _clean(value: str | None) -> str:
    return (value or "").replace("\r\n", "\n").strip()


def validate_filing(form, kind: str) -> tuple[dict, dict]:
    """(answers, errors) for the objection or repair form."""
    answers = {
        "category": _clean(form.get("category")) if kind == "objection" else "",
        "statement": _clean(form.get("statement")),
        "evidence": _clean(form.get("evidence")),
        "commitment": form.get("commitment") == "yes",
    }
    errors: dict = {}
    if kind == "objection" and answers["category"] not in CATEGORIES:
        errors["category"] = MESSAGES["category_missing"]
    statement = answers["statement"]
    if not statement:
        errors["statement"] = MESSAGES["statement_missing"]
    elif len(statement) < STATEMENT_MIN:
        errors["statement"] = MESSAGES["statement_short"]
    elif len(statement) > STATEMENT_MAX:
        errors["statement"] = MESSAGES["statement_long"]
    if len(answers["evidence"]) > EVIDENCE_MAX:
        errors["evidence"] = MESSAGES["evidence_long"]
    if kind == "restoration" and not answers["commitment"]:
        errors["commitment"] = MESSAGES["commitment_missing"]
    return answers, errors


def validate_information(form) -> tuple[str, dict]:
    text = _clean(form.get("information"))
    if not text:
        return text, {"information": MESSAGES["info_missing"]}
    if len(text) > NOTE_MAX:
        return text, {"information": MESSAGES["info_long"]}
    return text, {}


def validate_answer(form) -> tuple[str, dict]:
    text = _clean(form.get("answer"))
    if not text:
        return text, {"answer": MESSAGES["answer_missing"]}
    return text, {}


def validate_decision(form, entry: dict) -> tuple[dict, dict]:
    """Uphold needs an action (and its value); reject needs a reason the resident reads."""
    answers = {
        "outcome": _clean(form.get("outcome")),
        "action": _clean(form.get("action")),
        "note": _clean(form.get("note")),
        "facts": _clean(form.get("facts")),
        "expiry-day": _clean(form.get("expiry-day")),
        "expiry-month": _clean(form.get("expiry-month")),
        "expiry-year": _clean(form.get("expiry-year")),
        "expiry": None,
    }
    errors: dict = {}
    if answers["outcome"] not in ("uphold", "reject"):
        errors["outcome"] = MESSAGES["outcome_missing"]
    if answers["outcome"] == "uphold":
        if answers["action"] not in UPHOLD_ACTIONS:
            errors["action"] = MESSAGES["action_missing"]
        elif answers["action"] == "correct_facts" and not answers["facts"]:
            errors["facts"] = MESSAGES["facts_missing"]
        elif answers["action"] == "earlier_expiry":
            try:
                new = date(int(answers["expiry-year"]), int(answers["expiry-month"]),
                           int(answers["expiry-day"]))
            except ValueError:
                errors["expiry-day"] = MESSAGES["expiry_invalid"]
            else:
                if entry["expires_on"] and new >= date.fromisoformat(entry["expires_on"]):
                    errors["expiry-day"] = MESSAGES["expiry_not_earlier"]
                elif new < date.fromisoformat(entry["listed_on"]):
                    errors["expiry-day"] = MESSAGES["expiry_before_listing"]
                else:
                    answers["expiry"] = new
    if not answers["note"]:
        errors["note"] = MESSAGES["note_missing"]
    elif len(answers["note"]) > NOTE_MAX:
        errors["note"] = MESSAGES["note_long"]
    return answers, errors
