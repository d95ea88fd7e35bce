"""Error pages: every 4xx and 5xx answers with a page in the reader's language."""
from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

ERROR_PAGES = {
    400: (_l("Something was wrong with that request"), _l("Go back, reload the page and try again.")),
    403: (_l("You cannot see this page"), _l("Your account does not have access to this page.")),
    404: (_l("Page not found"), _l("Check the address, or go back to your record.")),
    405: (_l("That action is not allowed here"), _l("Go back and use the buttons on the page.")),
    413: (_l("That was too much to send"),
          _l("What you sent is larger than this service accepts. Send a smaller file or "
             "a shorter text.")),
    429: (_l("Too many attempts"), _l("You have tried too many times. Wait a few minutes, then try again.")),
    500: (_l("Sorry, there is a problem with the service"), _l("Try again later. Nothing you entered has been saved.")),
    503: (_l("Sorry, the service is unavailable"), _l("Try again later.")),
}


def render_error(code: int, detail: str | None = None) -> tuple[str, int]:
    title, message = ERROR_PAGES.get(code, ERROR_PAGES[500])
    return (
        render_template("errors/error.html", code=code, title=title, message=detail or message),
        code,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            _l("This form has expired or did not come from this service. "
               "Go back, reload the page and try again."),
        )

    @app.errorhandler(SecurityError)
    def untrusted_host(_error: SecurityError) -> tuple[str, int, dict]:
        # The Host header is not one of ours: no page (its links would name that host).
        return "Bad request: unknown host.\n", 400, {"Content-Type": "text/plain; charset=utf-8"}

    # Unhandled exceptions reach this as InternalServerError (outside tests, which
    # let them propagate so failures show their traceback).
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int] | HTTPException:
        if error.code is None or error.code < 400:
            return error
        return render_error(error.code)
