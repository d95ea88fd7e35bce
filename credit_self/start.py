"""The pages that belong to no capability: the start page, the accessibility statement,
and the display preferences every page offers (language, text size)."""
from datetime import date

from flask import (Flask, current_app, has_request_context, redirect, render_template,
                   request, session, url_for)
from flask.sessions import NullSession
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import HiddenField

from .errors import render_error
from .forms import Choices, Form, RadioField
from .i18n import LANGUAGE_COOKIE
from .security import safe_next

# Change it whenever the statement changes (GOV.UK keeps the review date with the text).
ACCESSIBILITY_STATEMENT_PREPARED = date(2026, 12, 3)
TEXT_SIZE_COOKIE = "text_size"
TEXT_SIZES = Choices((("standard", _l("Standard text")), ("large", _l("Larger text"))))
PREFERENCE_MAX_AGE = 365 * 24 * 3600


class TextSizeForm(Form):
    size = RadioField(choices=list(TEXT_SIZES), message=_l("Choose standard or larger text."))
    next = HiddenField()


def offers_text_size() -> bool:
    """Whether the header can carry the text-size form: not on pages served without a
    session (the verifier's), where no form token can be kept."""
    return has_request_context() and not isinstance(session, NullSession)


def large_text() -> bool:
    """Whether this browser asked for larger text (the class on <html>)."""
    return has_request_context() and request.cookies.get(TEXT_SIZE_COOKIE) == "large"


def index() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("records.my_record" if current_user.is_resident else "admin.home"))
    return render_template("start.html")


def set_language(code: str) -> Response:
    """Switch language and return to the page the link was on.

    A plain link (not a form) so it works everywhere; the only state it changes is a
    display preference kept in the browser, so it needs no CSRF token.
    """
    response = redirect(safe_next(request.args.get("next"), "/"), code=303)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=PREFERENCE_MAX_AGE, httponly=True,
                            samesite="Lax", secure=request.is_secure)
    return response


def set_text_size() -> Response | tuple[str, int]:
    """Switch between standard and larger text (适老化) and return to the page.

    A form posted with its CSRF token, so no link or other site can change it; the
    choice is kept in the browser like the language."""
    form = TextSizeForm()
    if not form.validate_on_submit():
        return render_error(400, form.size.errors[0])
    response = redirect(safe_next(form.next.data, "/"), code=303)
    if form.size.data == "large":
        response.set_cookie(TEXT_SIZE_COOKIE, "large", max_age=PREFERENCE_MAX_AGE, httponly=True,
                            samesite="Lax", secure=request.is_secure)
    else:
        response.delete_cookie(TEXT_SIZE_COOKIE, httponly=True, samesite="Lax",
                               secure=request.is_secure)
    return response


def accessibility() -> str:
    return render_template("accessibility.html", prepared_on=ACCESSIBILITY_STATEMENT_PREPARED)


def init_app(app: Flask) -> None:
    app.add_url_rule("/", "index", index)
    app.add_url_rule("/language/<code>", "set_language", set_language)
    app.add_url_rule("/text-size", "set_text_size", set_text_size, methods=["POST"])
    app.add_url_rule("/accessibility", "accessibility", accessibility)
