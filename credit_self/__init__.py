"""Credit Self-Check: see what the social credit lists hold about you.

`create_app()` wires configuration, extensions, blueprints, CLI commands and error pages.
"""
import secrets
import weakref
from functools import cached_property, lru_cache, partial, wraps
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.globals import _cv_request
from flask.templating import Environment as FlaskEnvironment
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_login.config import COOKIE_NAME
from flask_login.utils import _create_identifier
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import Environment, StrictUndefined
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_cookie
from werkzeug.utils import cached_property as werkzeug_cached_property
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import INSTANCE_PATH, PROJECT_ROOT, default_config
from .i18n import LANGUAGE_COOKIE
from .i18n import lazy_gettext as _l
from .keep import kept
from .sessions import (
    SecureWhenHttpsSessionInterface, serve_without_session, served_without_session,
)

# Extensions are module-level so blueprints can import them; each is bound in create_app.
csrf = CSRFProtect()
class SessionLoginManager(LoginManager):
    """Flask-Login's manager; a request whose session names no user is anonymous at once.

    This app signs people in through the session only (no remember-me cookies, no
    request loader). Without a user in the session, Flask-Login would still hash the
    client's address and agent for session protection and look for a remember cookie on
    every public page, to end with the same anonymous user.
    """

    def _load_user(self):
        if served_without_session():
            return self._update_request_context_with_user()
        if "_user_id" not in session and \
                current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) not in request.cookies:
            return self._update_request_context_with_user()
        return super()._load_user()

    def _update_remember_cookie(self, response):
        # A page served without a session has no sign-in to remember or forget.
        if served_without_session():
            return response
        return super()._update_remember_cookie(response)


def session_identifier() -> str:
    """Flask-Login's session-protection identifier: a SHA-512 of the client's address and
    browser, computed on every signed-in request. Remembered per (address, browser)."""
    request_ = _cv_request.get().request
    headers = request_.headers
    return _identifier_for(headers.get("X-Forwarded-For", request_.remote_addr),
                           headers.get("User-Agent"))


@lru_cache(maxsize=1024)
def _identifier_for(_address: str | None, _user_agent: str | None) -> str:
    # Flask-Login's own function reads exactly these two values from the request.
    return _create_identifier()


login_manager = SessionLoginManager()
login_manager._session_identifier_generator = session_identifier
babel = Babel()
limiter = Limiter(key_func=get_remote_address)

URL_CACHE_SIZE = 4096
LANGUAGE_NAMES = {"en": "English", "zh_CN": "中文"}


_DICT_ATTRIBUTES = frozenset(dir(dict))


class DictFirstEnvironment(FlaskEnvironment):
    """Jinja's environment, reading `row.field` from a dict without raising first, and
    with each template's globals in one dict.

    Jinja tries getattr() and, for a dict, catches the AttributeError before trying the
    key; pages read hundreds of fields from database rows (dicts) that way. For a name
    that is not a dict attribute getattr() can only fail, so the key is tried at once:
    the result is always the same as Jinja's.
    """

    def make_globals(self, d: Any) -> dict:
        """A template's globals as one dict, not Jinja's ChainMap over the app's.

        Every render (and every `import ... with context`) copies the globals into a new
        context; from a ChainMap that is a Python-level look-up per name, about a tenth
        of a small page. All globals are registered while the app is created, before any
        template loads (Jinja asks for that: "avoid modifying any globals after a
        template is loaded"), so the copy loses nothing.
        """
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


class CreditSelfApp(Flask):
    """Flask, with one Jinja environment per language (see `i18n.environment_for`)."""

    jinja_environment = DictFirstEnvironment

    @cached_property
    def base_jinja_env(self) -> Environment:
        return self.create_jinja_environment()

    @property
    def jinja_env(self) -> Environment:  # type: ignore[override]
        from . import i18n

        return i18n.environment_for(
            self.base_jinja_env,
            self._language_environments,
            self.extensions.get("language_filters", ()),
        )

    @cached_property
    def _language_environments(self) -> dict[str, Environment]:
        return {}

    @cached_property
    def _url_cache(self) -> dict[tuple, str]:
        return {}

    def ensure_sync(self, func):
        """Flask checks every hook, context processor and view for `async def` on every
        request (a dozen inspect calls per page); the answer never changes. Weakly
        keyed: callables made per request (after_this_request) are not kept."""
        try:
            sync = self._sync_functions.get(func)
        except TypeError:  # not weak-referenceable
            return super().ensure_sync(func)
        if sync is None:
            sync = super().ensure_sync(func)
            self._sync_functions[func] = sync
        return sync

    @cached_property
    def _sync_functions(self) -> "weakref.WeakKeyDictionary":
        return weakref.WeakKeyDictionary()

    def url_for(self, /, endpoint: str, *, _anchor: str | None = None,
                _method: str | None = None, _scheme: str | None = None,
                _external: bool | None = None, **values: Any) -> str:
        """Flask's url_for, remembered for relative links built from plain arguments.

        Such a URL depends only on the script root, the endpoint and the arguments (the
        URL map is fixed once the app runs, and there are no url_defaults), and a page
        builds a dozen of them (static files, navigation, forms).
        """
        request_context = _cv_request.get(None)
        if (
            request_context is None
            or _external or _scheme is not None
            or endpoint[:1] == "."
            or self.url_default_functions
            or not all(type(value) in (str, int) for value in values.values())
        ):
            return super().url_for(endpoint, _anchor=_anchor, _method=_method,
                                   _scheme=_scheme, _external=_external, **values)
        # In call order, as Werkzeug builds them; without `_method` the request's method
        # picks among an endpoint's rules.
        key = (request_context.request.script_root, endpoint, _anchor,
               _method or request_context.request.method, *values.items())
        return kept(self._url_cache, key,
                    lambda: Flask.url_for(self, endpoint, _anchor=_anchor, _method=_method, **values),
                    URL_CACHE_SIZE)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory used by `flask --app app`, gunicorn and the tests."""
    app = CreditSelfApp(
        __name__,
        instance_path=str(INSTANCE_PATH),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(default_config(Path(app.instance_path)))
    if test_config:
        app.config.from_mapping(test_config)
    Path(app.config["DATABASE"]).parent.mkdir(parents=True, exist_ok=True)

    # Inside ProxyFix, so HTTPS behind a proxy is seen as HTTPS.
    app.wsgi_app = SecurityHeaders(app.wsgi_app)
    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    app.session_interface = SecureWhenHttpsSessionInterface()
    # Static files are the same for everyone.
    serve_without_session(app, f"{app.static_url_path}/")
    # A typo in a template must fail loudly, never render a blank.
    app.jinja_env.undefined = StrictUndefined

    # Order matters: htmx swaps the request class before anything reads requests.
    from . import audit, cli, db, formatters, htmx, i18n

    htmx.init_app(app)
    app.request_class = _reading_cookies_from_the_environ(app.request_class)
    db.init_app(app)
    audit.init_app(app)
    cli.init_app(app)
    formatters.init_app(app)
    csrf.init_app(app)
    _check_csrf_only_where_it_applies(app)
    # Flask-WTF offers csrf_token() both as a global and from a context processor (run
    # for every page); the global alone does.
    app.jinja_env.globals["csrf_token"] = csrf_token_for_session
    app.jinja_env.globals["csp_nonce"] = TEMPLATE_NONCE
    processors = app.template_context_processors[None]
    processors[:] = [p for p in processors if getattr(p, "__module__", "") != "flask_wtf.csrf"]
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.install(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Sign in to see your record.")
    login_manager.login_message_category = "info"

    register_blueprints(app)
    _limit_only_decorated_routes(app)
    register_error_pages(app)
    register_template_helpers(app)
    return app


def _reading_cookies_from_the_environ(base: type) -> type:
    class Request(base):  # type: ignore[misc, valid-type]
        @werkzeug_cached_property
        def cookies(self):
            """Werkzeug's parse of the request's cookies, from the one `HTTP_COOKIE` a
            WSGI server passes. Werkzeug first searches every header for "Cookie", which
            cost as much as the parse; the session and the language both need it."""
            return parse_cookie(self.environ.get("HTTP_COOKIE", ""), cls=self.dict_storage_class)

    Request.__name__ = Request.__qualname__ = base.__name__
    return Request


def _check_csrf_only_where_it_applies(app: Flask) -> None:
    """Skip Flask-WTF's check before requests that cannot change anything.

    Its hook looks up the route's exemptions (a dozen proxy look-ups) before it looks
    at the method, so every GET paid for a check that ends with "not a POST". Only the
    methods in WTF_CSRF_METHODS (POST, PUT, PATCH, DELETE) are ever checked, exactly
    as before.
    """
    def only_where_it_applies(hook: Callable) -> Callable:
        @wraps(hook)
        def csrf_protect() -> None:
            context = _cv_request.get(None)
            if context is not None and context.request.method not in app.config["WTF_CSRF_METHODS"]:
                return None
            return hook()
        return csrf_protect

    _wrap_hooks(
        app.before_request_funcs.get(None, []),
        lambda hook: getattr(hook, "__module__", "") == "flask_wtf.csrf"
        and getattr(hook, "__name__", "") == "csrf_protect",
        only_where_it_applies,
    )


def _wrap_hooks(hooks: list[Callable], is_target: Callable[[Callable], bool],
                wrap: Callable[[Callable], Callable]) -> None:
    """Replace each hook an extension registered that `is_target` picks by `wrap(hook)`,
    in place, so the hooks keep their order."""
    for index, hook in enumerate(hooks):
        if is_target(hook):
            hooks[index] = wrap(hook)


def _limit_only_decorated_routes(app: Flask) -> None:
    """Skip Flask-Limiter's check before every request when only decorators set limits.

    Limits here are set with decorators on the routes that need them (sign-in,
    activation), and each decorator checks its own limit. With no default, application
    or blueprint limits, the app-wide check only walks empty lists, yet it runs on every
    page. Called once blueprints are registered; if Flask-Limiter's internals ever change
    shape, the check stays.
    """
    manager = limiter.limit_manager
    groups = [getattr(manager, name, None)
              for name in ("_default_limits", "_application_limits", "_blueprint_limits")]
    if any(group is None or group for group in groups):
        return
    checks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in checks:
        checks.remove(limiter._check_request_limit)
    _skip_limiter_hooks_when_unused(app)


def _skip_limiter_hooks_when_unused(app: Flask) -> None:
    """Run Flask-Limiter's after-request and teardown hooks only when a limit was checked.

    Both hooks first build the request's limiter state (a dict and a dataclass of sets),
    then find it empty: about a sixth of an undecorated page's own work. A decorated
    route that checks a limit creates that state on the request context; without it
    there is nothing to deduct (`deduct_when`), no header to add and nothing to reset.
    """
    inject = getattr(Limiter, "_Limiter__inject_headers", None)
    release = getattr(limiter, "_Limiter__release_context", None)

    def limiter_used() -> bool:
        context = _cv_request.get(None)
        return context is not None and hasattr(context, "_limiter_request_context")

    def after_request_when_used(hook: Callable) -> Callable:
        @wraps(hook)
        def when_used(response: Response) -> Response:
            return hook(response) if limiter_used() else response
        return when_used

    def teardown_when_used(hook: Callable) -> Callable:
        @wraps(hook)
        def when_used(error: BaseException | None = None) -> None:
            if limiter_used():
                hook(error)
        return when_used

    _wrap_hooks(
        app.after_request_funcs.get(None, []),
        lambda hook: isinstance(hook, partial) and hook.func is inject and hook.args == (limiter,),
        after_request_when_used,
    )
    _wrap_hooks(
        app.teardown_request_funcs.get(None, []),
        lambda hook: release is not None and hook == release,
        teardown_when_used,
    )


_SIGNED_CSRF_TOKENS_KEPT = 10_000


def csrf_token_for_session() -> str:
    """Flask-WTF's csrf_token() for templates, signed once per session secret and key.

    Flask-WTF signs the session's CSRF secret again on every page (every page has the
    sign-out form). With WTF_CSRF_TIME_LIMIT = None a signed token stays valid as long as
    its secret and the signing key, so the first one is kept (per app, keyed by both)
    and reused; with a time limit every page signs afresh, as Flask-WTF does.
    """
    from flask_wtf.csrf import generate_csrf

    # The request context straight from its context variable (no session and app proxies).
    context = _cv_request.get(None)
    if context is None:
        return generate_csrf()
    app, secret = context.app, context.session.get("csrf_token")
    config = app.config
    if secret is None or config["WTF_CSRF_TIME_LIMIT"] is not None:
        return generate_csrf()
    key = (config.get("WTF_CSRF_SECRET_KEY") or app.secret_key, secret)
    return kept(app.extensions.setdefault("signed_csrf_tokens", {}), key, generate_csrf,
                _SIGNED_CSRF_TOKENS_KEPT)


def register_blueprints(app: Flask) -> None:
    """One blueprint per capability."""
    from .admin import views as admin_views
    from .auth.views import bp as auth_bp
    from .certificates import views as certificates_views
    from .corrections import views as corrections_views
    from .pilots import views as pilots_views
    from .records.views import bp as records_bp
    from .transparency import views as transparency_views

    # auth: activation by real-name match, sign in and out for residents and staff.
    app.register_blueprint(auth_bp)
    # records: the resident's own list entries, restrictions and what to do.
    app.register_blueprint(records_bp)
    # admin: the staff console home and staff accounts; each capability adds its own
    # admin pages as a blueprint named "<capability>_admin" under /admin/.
    app.register_blueprint(admin_views.bp)
    admin_views.init_app(app)
    # pilots: local scoring pilots, opt in/out, score ledger; pilot admin console.
    pilots_views.init_app(app)
    # corrections: objections and credit restoration, inbox; reviewer queue.
    corrections_views.init_app(app)
    # certificates: QR "no restrictions" certificates and public verification.
    certificates_views.init_app(app)
    # transparency: who looked at my record, data export; list imports and audit viewer.
    transparency_views.init_app(app)

    # Staff pages send anonymous visitors to the staff sign-in, not the residents'.
    for name in app.blueprints:
        if name == "admin" or name.endswith("_admin"):
            login_manager.blueprint_login_views[name] = "auth.staff_login"

    @app.get("/")
    def index() -> Response | str:
        if current_user.is_authenticated:
            return redirect(url_for("records.my_record"))
        return render_template("start.html")

    @app.get("/language/<code>")
    def set_language(code: str) -> Response:
        """Switch language and return to the page the link was on.

        A plain link (not a form) so it works everywhere; the only state it changes is
        a display preference, so it needs no CSRF token.
        """
        target = request.args.get("next", "/")
        parts = urlsplit(target)
        # Only same-site paths: never an open redirect.
        if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
            target = "/"
        response = redirect(target, code=303)
        if code in app.config["LANGUAGES"]:
            response.set_cookie(
                LANGUAGE_COOKIE,
                code,
                max_age=365 * 24 * 3600,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure,
            )
        return response


# Where the request's CSP nonce, once a page asks for it, waits in the WSGI environ.
CSP_NONCE_KEY = "credit_self.csp_nonce"


class SecurityHeaders:
    """WSGI middleware: the security headers on every response the app sends.

    At the WSGI layer the fixed headers are appended as they are (Werkzeug's Headers
    validates each value again, on every response), error responses get them too, and
    each one is sent exactly once (a test checks). The CSP nonce is made by the first
    template that asks for it (`csp_nonce()`) and read here from the environ.
    """

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        https = environ.get("wsgi.url_scheme") == "https"

        def start_with_security_headers(status: str, headers: list, exc_info: Any = None) -> Any:
            headers.extend(_SECURITY_HEADERS)
            # A response that rendered no page (JSON, redirects, files) never asked for a
            # nonce: it allows no inline script at all.
            nonce = environ.get(CSP_NONCE_KEY)
            headers.append(("Content-Security-Policy",
                            _CONTENT_SECURITY_POLICY.format(f" 'nonce-{nonce}'" if nonce else "")))
            if https:
                headers.append(("Strict-Transport-Security", "max-age=31536000"))
            # Every page may carry personal data: nothing is cached unless the response
            # says otherwise (only static files do).
            if not any(name.lower() == "cache-control" for name, _ in headers):
                headers.append(("Cache-Control", "no-store"))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_security_headers)


def csp_nonce() -> str:
    """This request's CSP nonce, for the nonce="" of each script tag; made on first use."""
    context = _cv_request.get(None)
    if context is None:
        return ""
    environ = context.request.environ
    nonce = environ.get(CSP_NONCE_KEY)
    if nonce is None:
        nonce = environ[CSP_NONCE_KEY] = secrets.token_urlsafe(16)
    return nonce


class _TemplateNonce:
    """`{{ csp_nonce }}` in a template: this request's nonce, made when first printed,
    so a page that renders no script tag (the verdict page, JSON) makes none."""

    def __html__(self) -> str:
        return csp_nonce()

    __str__ = __html__


TEMPLATE_NONCE = _TemplateNonce()


_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; "
    "script-src 'self'{}; "
    "style-src 'self'; "
    "img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_SECURITY_HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


ERROR_PAGES = {
    400: (_l("Something was wrong with that request"), _l("Go back, reload the page and try again.")),
    403: (_l("You cannot see this page"), _l("Your account does not have access to this page.")),
    404: (_l("Page not found"), _l("Check the address, or go back to your record.")),
    405: (_l("That action is not allowed here"), _l("Go back and use the buttons on the page.")),
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


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            _l("This form has expired or did not come from this service. "
               "Go back, reload the page and try again."),
        )

    # Unhandled exceptions reach this as InternalServerError (outside tests, which
    # let them propagate so failures show their traceback).
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int] | HTTPException:
        if error.code is None or error.code < 400:
            return error
        return render_error(error.code)


class StaticUrls(dict):
    """Static file name -> its URL under one mount point, built on first use: the layout
    links the same three files from every page."""

    def __init__(self, url_for: Callable[..., str]) -> None:
        super().__init__()
        self._url_for = url_for

    def __missing__(self, filename: str) -> str:
        url = self[filename] = self._url_for("static", filename=filename)
        return url


def register_template_helpers(app: Flask) -> None:
    from . import i18n, navigation

    @lru_cache(maxsize=64)
    def language_globals(language: i18n.Language, script_root: str) -> dict[str, Any]:
        # The same for every page in one language (under one script root): built once.
        code = language.code or "en"
        return {
            "resident_nav": navigation.links(language, app.url_for),
            "static_urls": StaticUrls(app.url_for),
            "current_language": code,
            "language_names": LANGUAGE_NAMES,
            "is_zh": code.startswith("zh"),
        }

    @app.context_processor
    def template_globals() -> dict[str, Any]:
        # Read, never changed, by Flask (context.update): the cached dict itself.
        return language_globals(i18n.language(), _cv_request.get().request.script_root)
