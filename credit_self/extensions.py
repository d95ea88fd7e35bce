"""The Flask extensions, created once here and bound to each app in create_app()."""
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

babel = Babel()
compress = Compress()
csrf = CSRFProtect()
htmx = Htmx()
# Limits are set per route (sign-in, activation, verification); the storage comes from
# RATELIMIT_STORAGE_URI, so with Redis a limit holds across every worker and machine.
limiter = Limiter(key_func=get_remote_address)
login_manager = LoginManager()
