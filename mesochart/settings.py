"""All settings, read from environment variables with safe defaults.

The defaults give a working embedded install: SQLite in ``var/``, DEBUG off,
a secret key generated once into ``var/secret_key``. The README lists every variable.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("MESOCHART_VAR_DIR", BASE_DIR.parent / "var")).resolve()


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected true or false")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r}: must be at least {minimum}")
    return value


def env_decimal(name: str, default: str) -> str:
    raw = os.environ.get(name) or default
    try:
        Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a number") from None
    return raw


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str) -> dict[str, object]:
    """Translate DATABASE_URL (postgres://user:pass@host:port/name or sqlite:///path)."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parsed.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("DATABASE_URL: the database name is missing")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 60,
            "TEST": {"NAME": f"test_{name}"},
        }
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if path.startswith("//"):
            path = path[1:]
        return sqlite_database(Path(path.lstrip("/") if not path.startswith("/") else path))
    raise ImproperlyConfigured(
        f"DATABASE_URL: unsupported scheme {parsed.scheme!r} (use postgres:// or sqlite:///)"
    )


def sqlite_database(path: Path) -> dict[str, object]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # WAL lets readers proceed while one writer commits; IMMEDIATE takes the
        # write lock at BEGIN so concurrent writers queue instead of failing.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def load_secret_key() -> str:
    given = os.environ.get("SECRET_KEY")
    if given:
        return given
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = load_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "mesochart.audit",
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "mesochart.accounts",
    "mesochart.patients",
    "mesochart.library",
    "mesochart.stock",
    "mesochart.sterility",
    "mesochart.recall",
    "mesochart.care",
    "mesochart.outcomes",
    "mesochart.scheduling",
    "mesochart.messaging",
    "mesochart.core",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mesochart.audit.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "mesochart.accounts.middleware.IdleTimeoutMiddleware",
    "mesochart.accounts.middleware.ActiveClinicMiddleware",
    "mesochart.accounts.middleware.TwoFactorMiddleware",
    "mesochart.core.middleware.NullCharacterMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "mesochart.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "mesochart.urls"
WSGI_APPLICATION = "mesochart.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mesochart.accounts.context_processors.clinic",
            ],
        },
    }
]

_database_url = os.environ.get("DATABASE_URL", "").strip()
DATABASES = {
    "default": database_from_url(_database_url)
    if _database_url
    else sqlite_database(VAR_DIR / "mesochart.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Sign-in protection (django-axes, see the hardening block below): after
# LOGIN_MAX_FAILURES failures from one address for one username, that address may not
# try that username again for LOCKOUT_MINUTES.
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5, minimum=1)
LOCKOUT_MINUTES = env_int("LOCKOUT_MINUTES", 15, minimum=1)
# Two-factor sign-in (django-otp): the name authenticator apps show beside the account.
# Whether a clinic requires it of prescribers and managers is a clinic setting (on by default).
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Mesochart")
# Links to set or reset a password (new staff, a manager's reset) are valid this long.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_LINK_HOURS", 72, minimum=1) * 60 * 60
# Email (password links, messages to patients): see "Messaging" below.
# Idle session timeout, in minutes (a clinic workstation left unattended).
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 15, minimum=1)
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Only for `mesochart collectstatic` in deployments; the app serves from the package.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
# Photos and uploads: private, outside every static folder, never served by
# URL; views stream them through the access gate only (e.g. signed consents).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "private-media"))).resolve()
MEDIA_URL = ""
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Private files are written whole or not at all (see mesochart/core/storage.py).
STORAGES = {
    "default": {"BACKEND": "mesochart.core.storage.PrivateStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Photos and scanned consents: the largest image decoded (pixels) and the memory one decode
# may need; anything larger is refused with a message naming the upload field.
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 60_000_000, minimum=1_000_000)
IMAGE_MEMORY_BUDGET_MB = env_int("IMAGE_MEMORY_BUDGET_MB", 500, minimum=64)

PATIENTS_PAGE_SIZE = env_int("PATIENTS_PAGE_SIZE", 25, minimum=5)

# Audit log (see docs/audit.md): events are HMAC-signed with a key kept outside the
# database, and signed checkpoints of the chain head are appended to a file outside it.
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY", "")
AUDIT_KEY_FILE = Path(env_str("AUDIT_KEY_FILE", str(VAR_DIR / "audit_key"))).resolve()
AUDIT_CHECKPOINT_FILE = Path(
    env_str("AUDIT_CHECKPOINT_FILE", str(VAR_DIR / "audit-checkpoints.jsonl"))
).resolve()
AUDIT_CHECKPOINT_EVERY = env_int("AUDIT_CHECKPOINT_EVERY", 100, minimum=1)

# Background tasks (Django's task API via django-tasks): the database backend by default,
# run by `mesochart worker`; TASKS_BACKEND=django_tasks.backends.immediate.ImmediateBackend
# runs them in the request instead. With REDIS_URL set, tasks go to Redis through RQ
# (django-tasks-rq), run by `mesochart rqworker --job-class django_tasks_rq.backend.Job`
# (docs/tasks.md).
REDIS_URL = env_str("REDIS_URL", "").strip()
if REDIS_URL:
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
else:
    TASKS = {"default": {"BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}
# Messaging (docs/messaging.md) and password links. Email through Django's email backends: the console by
# default, EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend writes files to
# EMAIL_FILE_PATH, and EMAIL_HOST (with EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
# EMAIL_USE_TLS or EMAIL_USE_SSL) selects SMTP.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_FILE_PATH = Path(env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))).resolve()
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", bool(EMAIL_HOST))
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Mesochart <no-reply@localhost>")
# SMS through a small pluggable backend (mesochart/messaging/sms.py): ConsoleBackend by
# default, FileBackend (SMS_FILE_PATH), HttpJsonBackend (SMS_HTTP_URL, SMS_HTTP_TOKEN).
SMS_BACKEND = env_str("SMS_BACKEND", "mesochart.messaging.sms.ConsoleBackend")
# The public address of the site, for links in messages sent outside a request (the
# appointment confirmation's confirm and cancel links).
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")
# How long an emailed "confirm your booking" link works (hours); online booking throttles
# per client address and per clinic over an hour (docs/scheduling.md, "Online booking").
BOOKING_CONFIRM_LINK_HOURS = env_int("BOOKING_CONFIRM_LINK_HOURS", 72, minimum=1)
ONLINE_BOOKING_PER_ADDRESS_HOUR = env_int("ONLINE_BOOKING_PER_ADDRESS_HOUR", 10, minimum=1)
ONLINE_BOOKING_PER_CLINIC_HOUR = env_int("ONLINE_BOOKING_PER_CLINIC_HOUR", 200, minimum=1)
SMS_FILE_PATH = Path(env_str("SMS_FILE_PATH", str(VAR_DIR / "sms.jsonl"))).resolve()
SMS_HTTP_URL = env_str("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env_str("SMS_HTTP_TOKEN", "")
SMS_FROM = env_str("SMS_FROM", "Mesochart")
SMS_HTTP_TIMEOUT = env_int("SMS_HTTP_TIMEOUT", 10, minimum=1)
# A failed delivery is tried again MESSAGING_MAX_ATTEMPTS times in all, waiting
# MESSAGING_RETRY_MINUTES, then twice that, ...; after the last it shows as failed.
MESSAGING_MAX_ATTEMPTS = env_int("MESSAGING_MAX_ATTEMPTS", 3, minimum=1)
MESSAGING_RETRY_MINUTES = env_int("MESSAGING_RETRY_MINUTES", 5, minimum=1)

# A fridge CSV with more data lines than this is imported by a background task.
# The background worker's niceness (`mesochart worker`): web requests get the CPU first.
WORKER_NICE = env_int("WORKER_NICE", 10)
STOCK_IMPORT_BACKGROUND_ROWS = env_int("STOCK_IMPORT_BACKGROUND_ROWS", 5000, minimum=1)

# Stock (read through mesochart/stock/conf.py). Cold chain for refrigerated products
# is 2-8 C as in the products' storage instructions; a reading outside quarantines the
# fridge's lots. Opened multi-dose vials: 28 days after first puncture unless the
# product says otherwise (USP 797, clinical reference section 9.5).
STOCK_FRIDGE_MIN_C = env_decimal("STOCK_FRIDGE_MIN_C", "2.0")
STOCK_FRIDGE_MAX_C = env_decimal("STOCK_FRIDGE_MAX_C", "8.0")
STOCK_EXPIRY_WARNING_DAYS = env_int("STOCK_EXPIRY_WARNING_DAYS", 30, minimum=1)
STOCK_MULTI_DOSE_BEYOND_USE_DAYS = env_int("STOCK_MULTI_DOSE_BEYOND_USE_DAYS", 28, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# --- Hardening: sign-in throttling, Content-Security-Policy, HTTPS (docs/deploy.md) ---
# HTTPS=true: the site is served over HTTPS (Secure cookies, HSTS, redirect to https).
# BEHIND_PROXY=true: a reverse proxy of ours (nginx) terminates TLS and sets
# X-Forwarded-Proto and X-Forwarded-For; trust those headers, never otherwise.
HTTPS = env_bool("HTTPS", False)
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
SECURE_COOKIES = HTTPS or env_bool("SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a local monitoring probe may use plain HTTP
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS += ["axes", "csp"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a throttled address+username first
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "mesochart.core.middleware.NoStoreForStaffMiddleware",
)
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AXES_FAILURE_LIMIT = LOGIN_MAX_FAILURES
AXES_COOLOFF_TIME = timedelta(minutes=LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "mesochart.accounts.throttle.client_address"
AXES_LOCKOUT_CALLABLE = "mesochart.accounts.throttle.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in the audit log already
AXES_VERBOSE = False

# Only the app's own static files run or style a page: no inline script, style or handler.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# --- end of the hardening block ---
