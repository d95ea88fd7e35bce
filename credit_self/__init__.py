"""Credit Self-Check: see what the social credit lists hold about you.

`create_app()` wires configuration, extensions and the capabilities. Each capability is a
package with `views.py` (routes, and an `init_app` that registers them), a data module
holding all its SQL, its forms and its migrations; they meet only through the core
modules here (registry, signals, db, audit).
"""
from importlib import import_module
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import template_languages
from .config import INSTANCE_PATH, PROJECT_ROOT, default_config

# In the order their pages appear in the navigation and their routes are registered.
CAPABILITIES = ("auth", "records", "admin", "pilots", "corrections", "certificates",
                "transparency")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory used by `flask --app app`, gunicorn and the tests."""
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_PATH),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    # Templates are compiled once per language (see template_languages).
    app.jinja_environment = template_languages.Environment
    app.config.from_mapping(default_config(Path(app.instance_path)))
    if test_config:
        app.config.from_mapping(test_config)

    from . import (audit, cli, db, errors, formatters, htmx, i18n, schema, security,
                   routing, sessions, sms, start, static_files, templating)
    from .extensions import babel, csrf, limiter, login_manager

    app.session_interface = sessions.SessionInterface()
    sessions.serve_without_session(app, f"{app.static_url_path}/")
    # Security first: its headers wrap everything, and its upload limit must be set
    # before CSRF's hook reads the form.
    security.init_app(app)
    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]

    db.init_app(app)
    schema.init_app(app)
    audit.init_app(app)
    cli.init_app(app)
    htmx.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    templating.init_app(app)
    formatters.init_app(app)
    errors.init_app(app)
    start.init_app(app)
    routing.init_app(app)  # `<id:...>` before any route uses it
    sms.init_app(app)
    static_files.init_app(app)
    for capability in CAPABILITIES:
        import_module(f"{__name__}.{capability}.views").init_app(app)
    return app
