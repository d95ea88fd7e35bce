"""Configuration defaults, overridable from the environment.

Every setting has a safe default so `make run` works on a fresh machine; deployments
override through `CREDIT_SELF_*` environment variables (README, "Configuration").
"""
import os
import secrets
from datetime import timedelta
from pathlib import Path

from .db import sqlite_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_PATH = PROJECT_ROOT / "instance"
MEGABYTE = 1024 * 1024


def setting(name: str, default: str | None = None) -> str | None:
    """An environment setting, or the content of the file `<name>_FILE` names (how
    container platforms hand over secrets)."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return default


def write_private_once(path: Path, data: bytes) -> bool:
    """Write `data` to `path`, readable by the owner only (0600), unless a file is there
    already; True if this call wrote it. Written to a private temporary file, then linked
    into place: link() fails if the file exists, so when several workers start at once
    exactly one wins, and nobody reads a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    try:
        os.link(candidate, path)
        return True
    except FileExistsError:
        return False
    finally:
        candidate.unlink()


def _secret_key(instance_path: Path) -> str:
    """Return the signing key: from the environment, else one kept in instance/.

    A key generated once and stored keeps sessions valid across restarts of `make run`
    without ever committing a key to git.
    """
    from_env = setting("CREDIT_SELF_SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        write_private_once(key_file, secrets.token_hex(32).encode())
    return key_file.read_text().strip()


def database_url(instance_path: Path) -> str:
    """CREDIT_SELF_DATABASE_URL; else CREDIT_SELF_DB, a path to an SQLite file; else the
    embedded database under instance/."""
    url = setting("CREDIT_SELF_DATABASE_URL")
    if url:
        return url
    return sqlite_url(os.environ.get("CREDIT_SELF_DB") or instance_path / "credit_self.db")


def _list(name: str) -> list[str]:
    return [part.strip() for part in (setting(name) or "").split(",") if part.strip()]


def trusted_hosts() -> list[str]:
    """Host names requests may carry: the public URL's, any listed in
    CREDIT_SELF_TRUSTED_HOSTS, and loopback (the embedded default serves there)."""
    from urllib.parse import urlsplit

    hosts = ["localhost", "127.0.0.1", "[::1]"] + _list("CREDIT_SELF_TRUSTED_HOSTS")
    public = os.environ.get("CREDIT_SELF_PUBLIC_BASE_URL")
    if public and urlsplit(public).hostname:
        hosts.append(urlsplit(public).hostname)
    return hosts


def translation_directories() -> list[str]:
    package = Path(__file__).resolve().parent
    return [str(package / "translations")] + sorted(
        str(path) for path in package.glob("*/translations") if path.is_dir()
    )


def default_config(instance_path: Path = INSTANCE_PATH) -> dict:
    """Build the default settings, reading environment overrides."""
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "DATABASE_URL": database_url(instance_path),
        # Cookies: HttpOnly and SameSite always; Secure is added per request when the
        # request came over HTTPS (see sessions.py), or always when
        # CREDIT_SELF_HTTPS_ONLY=1.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("CREDIT_SELF_HTTPS_ONLY") == "1",
        "SESSION_COOKIE_NAME": "credit_self_session",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=2),
        # A signed-in session ends after this long without a request; pages warn
        # IDLE_WARNING_SECONDS before and offer "Stay signed in" (WCAG 2.2.1).
        "STAFF_IDLE_MINUTES": int(setting("CREDIT_SELF_STAFF_IDLE_MINUTES", "30")),
        "RESIDENT_IDLE_MINUTES": int(setting("CREDIT_SELF_RESIDENT_IDLE_MINUTES", "20")),
        "IDLE_WARNING_SECONDS": 120,
        # Staff second factor: time to enter the code after the password (to set up the
        # app at the first sign-in), and wrong codes per account before a lock.
        "SECOND_FACTOR_CODE_MINUTES": 5,
        "SECOND_FACTOR_ENROL_MINUTES": 15,
        "SECOND_FACTOR_MAX_FAILURES": 5,
        "SECOND_FACTOR_LOCK_MINUTES": 15,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Trust X-Forwarded-* from this many proxies (0 = serving directly).
        "PROXY_COUNT": int(os.environ.get("CREDIT_SELF_PROXY_COUNT", "0")),
        # A forged Host header gets 400 and never reaches a link or a QR code.
        "TRUSTED_HOSTS": trusted_hosts(),
        # The address QR codes and links in messages use; the request's host otherwise.
        "PUBLIC_BASE_URL": os.environ.get("CREDIT_SELF_PUBLIC_BASE_URL"),
        # Largest request body: above the largest upload residents may send. Staff list
        # imports (up to IMPORT_MAX_BYTES) get their own limit (security.py).
        "MAX_CONTENT_LENGTH": 6 * MEGABYTE,
        # Text responses compressed by Flask-Compress: Brotli where the browser takes it,
        # gzip otherwise (static_files.py).
        "COMPRESS_ALGORITHM": ["br", "gzip"],
        "IMPORT_MAX_BYTES": 20 * MEGABYTE,
        # Corrections' evidence files, kept outside static/ under random names
        # (corrections/evidence.py); the resident's upload routes accept 5 files of 5 MB
        # and the form's other fields (security.py allows_evidence_upload).
        "EVIDENCE_DIR": setting("CREDIT_SELF_EVIDENCE_DIR") or str(instance_path / "evidence"),
        "EVIDENCE_MAX_REQUEST_BYTES": 26 * MEGABYTE,
        # CSRF tokens last as long as the session; a stale form asks to sign in again.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": True,
        # Failed attempts slow down instead of locking (a lock is a stranger's weapon):
        # after this many free failures per login (ID number or staff username) and per
        # client address, each further one makes the next attempt wait 1 s, 2 s, 4 s ...
        # up to the cap; a quiet hour forgets them (auth/delays.py).
        "FREE_FAILURES_PER_LOGIN": 4,
        "FREE_FAILURES_PER_ADDRESS": 20,
        "MAX_DELAY_SECONDS": 300,
        # Demo mode: the text-message outbox is readable at /dev/sms (sms.py). `make run`
        # and the tests turn it on; a production configuration leaves it off (404).
        "DEMO": setting("CREDIT_SELF_DEMO") == "1",
        # Where text messages go: "outbox" (stored in sms_outbox) or "http" (POSTed to
        # CREDIT_SELF_SMS_URL, the production shape; see sms.py). Setting the URL alone
        # chooses "http".
        "SMS_SENDER": setting("CREDIT_SELF_SMS_SENDER",
                              "http" if setting("CREDIT_SELF_SMS_URL") else "outbox"),
        "SMS_HTTP_URL": setting("CREDIT_SELF_SMS_URL"),
        "SMS_HTTP_TOKEN": setting("CREDIT_SELF_SMS_TOKEN"),
        # Per-address rate limits, Flask-Limiter's storage: memory:// holds within one
        # process (make run serves from one process with threads); several processes or
        # machines need a shared store, e.g. redis://host:6379/0.
        "RATELIMIT_ENABLED": os.environ.get("CREDIT_SELF_RATELIMIT_ENABLED", "1") == "1",
        "RATELIMIT_STORAGE_URI": os.environ.get("CREDIT_SELF_RATELIMIT_STORAGE", "memory://"),
        # Keeps two deployments that share one Redis from sharing counters.
        "RATELIMIT_KEY_PREFIX": os.environ.get("CREDIT_SELF_RATELIMIT_KEY_PREFIX", ""),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("CREDIT_SELF_LOGIN_RATE_LIMIT",
                                           "20 per minute;200 per day"),
        "ACTIVATE_RATE_LIMIT": os.environ.get("CREDIT_SELF_ACTIVATE_RATE_LIMIT",
                                              "10 per minute;60 per day"),
        "VERIFY_RATE_LIMIT": os.environ.get("CREDIT_SELF_VERIFY_RATE_LIMIT", "60 per minute"),
        # The audit checkpoints' Ed25519 signing key: a PEM file's path, or the PEM itself
        # (from CREDIT_SELF_AUDIT_SIGNING_KEY_FILE); None = instance/audit-signing-key.pem,
        # generated on first use (credit_self/audit_keys.py).
        "AUDIT_SIGNING_KEY": setting("CREDIT_SELF_AUDIT_SIGNING_KEY"),
        # Refused reads of others' entries, corrections or certificates, per account: a
        # resident following their own links never meets one (auth/roles.py refuse_read).
        "PROBE_RATE_LIMIT": os.environ.get("CREDIT_SELF_PROBE_RATE_LIMIT", "10 per hour"),
        # Certificate token secrets, newest first (rotation); SECRET_KEY when none.
        "CERTIFICATE_SECRETS": _list("CREDIT_SELF_CERTIFICATE_SECRETS") or None,
        # Ed25519 keys of offline credentials, one PEM file each (certificates/issuer_keys.py).
        "CERTIFICATE_ISSUER_KEY_DIR": setting("CREDIT_SELF_CERTIFICATE_ISSUER_KEY_DIR")
        or str(instance_path / "issuer_keys"),
        "MIN_PASSWORD_LENGTH": 10,
        "LANGUAGES": ["en", "zh_CN"],
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        # One catalog for the foundation plus one per capability that has its own
        # (credit_self/<capability>/translations); flask-babel merges them.
        "BABEL_TRANSLATION_DIRECTORIES": ";".join(translation_directories()),
        # Entries expiring within this many days are called out on /me.
        "EXPIRY_WARNING_DAYS": 14,
    }
