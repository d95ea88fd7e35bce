"""The start page and the language switch: the two pages that belong to no capability."""
from flask import Flask, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from .i18n import LANGUAGE_COOKIE
from .security import safe_next

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
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, httponly=True,
                            samesite="Lax", secure=request.is_secure)
    return response


def init_app(app: Flask) -> None:
    app.add_url_rule("/", "index", index)
    app.add_url_rule("/language/<code>", "set_language", set_language)
