"""The one place that knows about htmx-flask.

Views ask `is_partial_request()` and call `render_page_or_partial()`; swapping the htmx
integration later is a change to this file (and extensions.py) only.
"""
from flask import Flask, Response, render_template, request
from htmx_flask import make_response as htmx_make_response

from .extensions import htmx


def init_app(app: Flask) -> None:
    htmx.init_app(app)

    @app.after_request
    def vary_on_htmx(response: Response) -> Response:
        # One URL can answer with a fragment or a full page: caches must keep them apart.
        # Pages served without a session (verifiers', static files) have no fragments.
        if not request.path.startswith(app.config.get("SESSIONLESS_PATHS", ())):
            response.vary.add("HX-Request")
        return response


def is_partial_request() -> bool:
    """True for an htmx swap request; boosted navigations and history restores
    get full pages."""
    hx = request.htmx
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render_page_or_partial(page: str, partial: str, **context) -> str:
    """Render the partial alone for htmx swaps, the full page otherwise."""
    return render_template(partial if is_partial_request() else page, **context)


def redirect_for_htmx(location: str) -> Response:
    """Leave the page from a non-boosted htmx request (a 3xx would be followed
    silently by the browser and swapped in place)."""
    return htmx_make_response("", redirect=location)
