"""Settings, read from the environment (see .env.example).

Defaults give the embedded set-up of `make run`: SQLite, a filesystem Celery broker under
var/, email written to var/mail/. Production sets DATABASE_URL, CELERY_BROKER_URL and friends.
"""

import warnings
import zoneinfo
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; the real environment wins


def env_bool(name: str, default: bool) -> bool:
    """A boolean from the environment that refuses anything but a clear yes or no."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_count(name: str, default: int, minimum: int = 1) -> int:
    """A whole number from the environment that refuses anything else, or below `minimum`, naming
    the variable (a bare `int()` error would leave the operator to find which of them "15m" is)."""
    raw = env.str(name, default=str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least {minimum}, not {value}")
    return value


def env_url(name: str, default: str) -> str:
    """A URL from the environment. Set but empty (`NAME=` in a .env copied from .env.example,
    compose's `${NAME:-}`) counts as not set: the default, not an empty URL that Celery would
    take for its own default broker (amqp://guest@localhost) or django-environ for no database."""
    return env.str(name, default="").strip() or default


def database_url(name: str, default: str = "") -> dict:
    """A database URL from the environment as Django's DATABASES entry, refusing one that names no
    database backend (`nonsense`, `postgress://…`) with a sentence naming the variable, never a
    KeyError on ENGINE. The message shows the scheme only: the URL holds the password."""
    raw = env_url(name, default)
    known = set(environ.Env.DB_SCHEMES.values())
    try:
        # django-environ warns of an unknown engine with the whole parsed URL, password included,
        # on stderr (the deploy's log): the sentence below says what is wrong instead.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = environ.Env.db_url_config(raw)
    except Exception:  # django-environ's errors differ by the way the URL is wrong
        config = {}
    if config.get("ENGINE") not in known:
        scheme = raw.split("://", 1)[0] if "://" in raw else "none"
        raise ImproperlyConfigured(
            f"{name} must be a database URL such as postgres://user:password@host:5432/name or "
            f"sqlite:////absolute/path (its scheme: {scheme!r})"
        )
    return config


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # First: its management commands take the place of django.contrib.auth's (changepassword ends
    # the user's tokens and calendar links and is logged, as every other password change is).
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_htmx",
    "axes",  # sign-in lockout
    "django_otp",  # two-step sign-in: authenticator apps and recovery codes
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "pgtrigger",
    "rest_framework",  # the REST API (coordination/api/) and the FHIR server (coordination/fhir/)
    "drf_spectacular",  # the API's OpenAPI schema
    "drf_spectacular_sidecar",  # Swagger UI's files, served from the app (no CDN)
    "patients",
    "checklists",
    "coordination",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A Content-Security-Policy on every response (see "Hardening" below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a signed-in user unless its view says @login_not_required; API views
    # (Django REST framework's) sign their callers in themselves (accounts.api_auth).
    "accounts.middleware.LoginRequiredMiddleware",
    # `Cache-Control: no-store` on every response to a signed-in user (shared tablets).
    "accounts.middleware.NoStoreMiddleware",
    # A form's address opened by a link answers a page saying so, not Django's empty 405.
    "accounts.middleware.MethodNotAllowedPageMiddleware",
    # Names the user, address and browser on every change the request writes to the audit log.
    "accounts.audit.AuditContextMiddleware",
    # Times on the signed-in user's unit's clock (its zone), unless a page names another.
    "accounts.middleware.UnitClockMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Sign-in security (see its block below): who passed the second step, idle and absolute
    # time-outs, the second step itself; axes last, as its documentation asks.
    "django_otp.middleware.OTPMiddleware",
    # The user read once, not through the lazy stand-ins of the two above (its docstring says why).
    "accounts.middleware.SignedInUserMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.SecondStepMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "coordination.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {"default": database_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env_count("DATABASE_CONN_MAX_AGE", 60, minimum=0)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # No JIT compilation: on a hospital's 1,000,000 tasks the planner's cost estimates of the
    # pages' short queries cross jit_above_cost, and compiling took 20 ms to run a 1 ms query
    # (EXPLAIN ANALYZE of a kept page's version; docs/performance.md, issue 19's third pass).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
# Two roles on PostgreSQL (README, "Database roles"): DATABASE_URL is the application's, which may
# read and write the data but only insert into the audit log and owns nothing; DATABASE_OWNER_URL
# is the owner's, which `manage.py migrate` (and `flush`) connect as. The owner grants the
# application's role its rights after every migration (accounts.database_roles).
DATABASE_OWNER = database_url("DATABASE_OWNER_URL") if env_url("DATABASE_OWNER_URL", "") else None
DATABASE_APP_ROLE = DATABASES["default"].get("USER", "") if DATABASE_OWNER else ""
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache: Redis in production (CACHE_URL=redis://…), this process's memory for `make run`.
# It holds sessions and rendered My work lists (coordination.worklist.page_cache), nothing that cannot
# be lost: a flushed cache costs a query or a render, never a sign-out or a stale page.
CACHES = {"default": environ.Env.cache_url_config(env_url("CACHE_URL", "locmemcache://"))}
CACHES["default"].setdefault("KEY_PREFIX", "care")
if CACHES["default"]["BACKEND"].startswith("django_redis."):
    # Redis down must not take the wards' pages down with it: a failed read is a miss (the
    # session comes from the database, the page is rendered), a failed write is logged.
    CACHES["default"].setdefault("OPTIONS", {})["IGNORE_EXCEPTIONS"] = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
# Sessions are read from a shared cache and written through to the database: a page costs a
# cache read instead of a query (docs/performance.md, "Dashboard load"). A cache in one
# process's memory is not shared: a sign-out there would leave the session alive in the others.
_SHARED_CACHE = not CACHES["default"]["BACKEND"].endswith("LocMemCache")
SESSION_ENGINE = "django.contrib.sessions.backends." + ("cached_db" if _SHARED_CACHE else "db")

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC").strip() or "UTC"
try:  # Django would say only "Incorrect timezone setting", and only once settings are first used.
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones, "Europe"
    raise ImproperlyConfigured(
        f"TIME_ZONE must be an IANA time zone such as Europe/Berlin, not {TIME_ZONE!r}"
    ) from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files for production (needs collectstatic); plain files in
        # development and tests.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("DJANGO_STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email: django-environ's EMAIL_URL (smtp://…, consolemail://, filemail:///folder).
vars().update(environ.Env.email_url_config(env_url("EMAIL_URL", "consolemail://")))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="care-tracker@localhost")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# Celery: Redis in production and tests; a filesystem broker under var/ for `make run`.
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", env_url("REDIS_URL", "filesystem://"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    # kombu's filesystem transport lists these folders and fails when they are missing: made here,
    # so that any command (seed_demo, a worker) works on a fresh checkout, not only after `make run`.
    for _folder in ("processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        # Its exchange table too, which would otherwise land in `control/` wherever the process runs.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {}

# The audit log's seals (accounts.audit_seal): a keyed hash chain, sealed every AUDIT_SEAL_SECONDS
# by Celery beat. The key never enters the database: AUDIT_SEAL_KEY, or the file named by
# AUDIT_SEAL_KEY_FILE; without either, one derived from DJANGO_SECRET_KEY (production sets its own,
# so that rotating the secret key does not break the verification of old seals). Checkpoints of the
# chain's head are appended, signed, to a file in AUDIT_CHECKPOINT_DIR: storage that the database's
# roles cannot write (a volume of the application's, write-once storage in a hospital).
AUDIT_SEAL_KEY = env.str("AUDIT_SEAL_KEY", default="")
if not AUDIT_SEAL_KEY and (_key_file := env.str("AUDIT_SEAL_KEY_FILE", default="")):
    AUDIT_SEAL_KEY = Path(_key_file).read_text(encoding="utf-8").strip()
AUDIT_CHECKPOINT_DIR = Path(env.str("AUDIT_CHECKPOINT_DIR", default=str(VAR_DIR / "audit-checkpoints")))
AUDIT_SEAL_SECONDS = env_count("AUDIT_SEAL_SECONDS", 5)
# A planned event this many hours past its time gets its outcome (done, or missed when its gate
# was not ready) from beat, every EVENT_SETTLE_MINUTES (checklists.services.events_settle).
EVENT_SETTLE_HOURS = env_count("EVENT_SETTLE_HOURS", 12)
EVENT_SETTLE_MINUTES = env_count("EVENT_SETTLE_MINUTES", 15)
# The typo guard for a weight (patients.services.weight_change_question): a weighing that differs from
# the one before it by more than this share is asked about before it becomes the patient's weight.
# A slipped decimal (7.0 for 70 kg) is a 90 % drop or a 900 % rise; a true change of more than 10 %
# is rare and, as it may move the dose to body-surface area or a bag's preservative limit, worth a
# second look whenever the weighing before was made. A pharmacy may set its own share.
WEIGHT_CHANGE_ASK_PERCENT = env_count("WEIGHT_CHANGE_ASK_PERCENT", 10)
CELERY_BEAT_SCHEDULE["events-settle"] = {
    "task": "checklists.events_settle",
    "schedule": 60.0 * EVENT_SETTLE_MINUTES,
    "options": {"expires": 60.0 * EVENT_SETTLE_MINUTES},
}
CELERY_BEAT_SCHEDULE["audit-seal"] = {
    "task": "accounts.audit_seal",
    "schedule": float(AUDIT_SEAL_SECONDS),
    "options": {"expires": max(AUDIT_SEAL_SECONDS, 1)},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals": {"()": "accounts.logging_filters.NoTracebackForRefusals"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # A 403 or 404 is logged as its line, without a traceback.
    "loggers": {"django.request": {"filters": ["refusals"]}},
}

# Demo data: the password of the demo users created by `manage.py seed_demo`.
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="")

# The admin lives at a configurable path, so that it is not where scanners look first.
ADMIN_URL = env.str("DJANGO_ADMIN_URL", default="admin/").strip("/") + "/"


# Sign-in security ------------------------------------------------------------------------------
# Lockout, two-step sign-in and time-outs (README: "Sign-in security").
# Lockout (django-axes): 5 failed sign-ins for one user name, or from one address, lock that
# name or that address for SIGNIN_LOCKOUT_MINUTES. Attempts are kept in the database (admin:
# Axes → Access attempts); `manage.py axes_reset_username <name>` unlocks early.
SIGNIN_LOCKOUT_MINUTES = env_count("SIGNIN_LOCKOUT_MINUTES", 30)
# Idle and absolute time-outs, enforced by accounts.middleware.SessionTimeoutMiddleware.
SESSION_IDLE_MINUTES = env_count("SESSION_IDLE_MINUTES", 15)
SESSION_ABSOLUTE_HOURS = env_count("SESSION_ABSOLUTE_HOURS", 12)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out name or address unchecked
    "accounts.backends.UserWithUnitBackend",  # ModelBackend, with the user's unit
    # Sessions started before UserWithUnitBackend name this one: kept so that the deploy signs
    # nobody out. Remove once those sessions have ended (SESSION_ABSOLUTE_HOURS after it).
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 5
# Two separate parameters, not one combination: either reaching the limit locks.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = SIGNIN_LOCKOUT_MINUTES / 60  # hours, as a float
# A successful sign-in clears the failures of its user name only (accounts.signin.failures_clear).
# Not axes's AXES_RESET_ON_SUCCESS: it clears every failure from the address too, whatever name they
# were for, so that an insider signing in as themselves after every 4 guesses at a colleague's
# password from their workstation never locked the colleague's name, nor the address.
AXES_RESET_ON_SUCCESS = False
# Attempts during a lockout are refused without a password check and do not extend it, so
# that "try again in 30 minutes" stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.views.signin.locked_out"
# The client's address: REMOTE_ADDR, or behind N reverse proxies that each append to
# X-Forwarded-For, the address that the outermost of them saw.
AXES_CLIENT_IP_CALLABLE = "accounts.client_address.client_ip_address"
SIGNIN_TRUSTED_PROXIES = env_count("SIGNIN_TRUSTED_PROXIES", 0, minimum=0)
# Whom the lockout page tells people to call.
SIGNIN_HELP_CONTACT = env.str("SIGNIN_HELP_CONTACT", default="the IT service desk")
# Two-step sign-in (django-otp): required for staff and coordinators, optional for others.
OTP_TOTP_ISSUER = "Care Coordination Tracker"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows authenticator keys or recovery codes
# Time-outs, in seconds; the cookie lives no longer than the absolute limit, nor past the browser.
SESSION_IDLE_TIMEOUT = SESSION_IDLE_MINUTES * 60
SESSION_ABSOLUTE_TIMEOUT = SESSION_ABSOLUTE_HOURS * 3600
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Handoffs: the receiving unit keeps seeing the patient this long after the handoff completes.
HANDOFF_ACCESS_HOURS_AFTER_COMPLETION = env_count("HANDOFF_ACCESS_HOURS_AFTER_COMPLETION", 72)

# --- Hardening -------------------------------------------------------------------------------
# Production defaults: `manage.py check --deploy --fail-level WARNING` passes with DEBUG off.
# Behind a TLS-terminating proxy set DJANGO_BEHIND_PROXY=1 so that Django trusts its header.
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_count("DJANGO_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page, never from the cookie
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Oversized input is refused before it reaches a form (free-text fields have their own limits).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 500

# Content-Security-Policy (django-csp): only the app's own scripts and styles, no inline script,
# no eval (htmx's eval features are switched off in base.html), no framing, forms post here only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# The REST API (coordination/api/, README "REST API") and the FHIR server share these defaults.
# Callers sign in with a personal token (Authorization: Bearer …) or the browser's session, under
# the pages' rules (accounts.api_auth); no Basic auth, which would send the password every time.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.PersonalTokenAuthentication",
        "accounts.api_auth.SessionWithSecondStepAuthentication",
    ],
    # Signed in, and within the token's scope: a read-only token changes nothing, whatever the view.
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api_auth.TokenScopeAllows",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser, refusing as malformed what it let through to a 500 (deep nesting, lone surrogates).
    "DEFAULT_PARSER_CLASSES": ["coordination.api.parsers.JSONParser"],
    # Every refusal as RFC 9457 problem details, with the pages' sentence and field messages.
    "EXCEPTION_HANDLER": "coordination.api.errors.problem_handler",
    "DEFAULT_PAGINATION_CLASS": "coordination.api.pagination.Cursor",
    # An unknown query parameter is refused (a typo must not pass for no filter), then the filters.
    "DEFAULT_FILTER_BACKENDS": [
        "coordination.api.filters.KnownParameters",
        "django_filters.rest_framework.DjangoFilterBackend",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "coordination.api.schema.ProblemAutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Care Coordination Tracker API",
    "DESCRIPTION": (
        "Care teams, plans, tasks, handoffs, the toxicity watch and notifications, under the same access policy "
        "and rules as the pages.\n\n"
        "- **Sign in** with a personal token, made on your Security page, as `Authorization: Bearer <token>`; "
        "it acts as you, with your role and your patients only, until it expires or you revoke it. A "
        "**read-only** token (the default) may only GET: any other call is a 403; changes need a read-and-write "
        "token.\n"
        "- **Lists** page by cursor: follow `next` (and `previous`); `?page_size=` from 1 to 200. A query "
        "parameter that a list does not know is a 400 naming it, never ignored.\n"
        "- **Times** are ISO 8601 in UTC (`2026-12-06T11:55:00Z`); a time sent without an offset is read as UTC.\n"
        "- **Errors** are RFC 9457 problem details (`application/problem+json`): `detail` is the sentence the "
        "page would show, `errors` the messages of each field; 409 when somebody acted first.\n"
        "- **Every read** of patient data is written to the audit log under your name.\n"
        "- The same record in **FHIR R4** (read and search, JSON): `/fhir/R4/`, described by `/fhir/R4/metadata`."
    ),
    "VERSION": "1",
    # Operations grouped by resource (tasks, handoffs...), not all under "v1".
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs hold no patient data: integrators read them before they have a token.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "coordination.api.schema.closed_request_bodies",
        "coordination.api.schema.no_empty_query_parameters",
    ],
    # One name per set of choices that several records share.
    "ENUM_NAME_OVERRIDES": {
        "GradeEnum": "patients.models.toxicity.GRADES",
        "RoleEnum": "accounts.models.Role",
        "CareEventKindEnum": "patients.models.CareEvent.Kind",
        "HandoffKindEnum": "coordination.handoffs.models.Handoff.Kind",
        "HandoffActionRoleEnum": "coordination.handoffs.models.HandoffAction.ROLE_CHOICES",
    },
}

# Rendered pages ---------------------------------------------------------------------------------
# How long a rendered My work list is kept while nothing it shows changes (coordination.worklist.page_cache);
# 0 renders every request. Keys move on every minute, so more than 60 buys nothing.
PAGE_CACHE_SECONDS = env_count("PAGE_CACHE_SECONDS", 60, minimum=0)

# Reminders -------------------------------------------------------------------------------------
# The database is the source of truth (coordination.reminders): a sweep writes Reminder rows and
# hands their ids to delivery tasks; the sweep hands over again what is still unsent later.
REMINDER_SWEEP_SECONDS = env_count("REMINDER_SWEEP_SECONDS", 60)
# Reminder ids per delivery task: batching beats one message per reminder.
REMINDER_BATCH_SIZE = env_count("REMINDER_BATCH_SIZE", 200)
# Threads a delivery task sends on, each with its own database connection: one reminder's
# round trip to the database is another's time to be written.
REMINDER_SEND_LANES = env_count("REMINDER_SEND_LANES", 4)
# A reminder still unsent this long after it was handed to the broker is handed over again
# (a message lost with a Redis restart, a worker killed mid-batch).
REMINDER_REDISPATCH_SECONDS = env_count("REMINDER_REDISPATCH_SECONDS", 300)
# Failed deliveries are retried after 1, 2, 4… times this, at most an hour apart, then given up.
REMINDER_RETRY_SECONDS = env_count("REMINDER_RETRY_SECONDS", 60)
REMINDER_MAX_ATTEMPTS = env_count("REMINDER_MAX_ATTEMPTS", 6)
# How far back the sweep looks for what fell due: covers a sweep that did not run for this long.
REMINDER_CATCH_UP_HOURS = env_count("REMINDER_CATCH_UP_HOURS", 24)
# Channels besides the bell (which always rings): dotted paths of coordination.reminders.channels.Channel.
NOTIFICATION_RETIRE_MINUTES = env_count("NOTIFICATION_RETIRE_MINUTES", 15)
REMINDER_CHANNELS = env.list("REMINDER_CHANNELS", default=["coordination.reminders.channels.EmailChannel"])
CELERY_BEAT_SCHEDULE.update(
    {
        # Every minute: find what is due (due soon, overdue, escalations, events not ready,
        # handoffs not acknowledged, digests), write the reminders and hand them to delivery;
        # hand over again what a lost message or a dead worker left unsent. A sweep that waited
        # longer than its interval in the queue is dropped: the next one does its work.
        "reminders-sweep": {
            "task": "coordination.reminders_sweep",
            "schedule": float(REMINDER_SWEEP_SECONDS),
            "options": {"expires": max(REMINDER_SWEEP_SECONDS - 5, 1)},
        },
        # Unread notifications of patients their recipients no longer see leave the bell's count.
        "notifications-retire": {
            "task": "coordination.notifications_retire",
            "schedule": 60.0 * NOTIFICATION_RETIRE_MINUTES,
            "options": {"expires": 60.0 * NOTIFICATION_RETIRE_MINUTES - 5},
        },
        # Every minute: urgent toxicity alerts not acknowledged in time go to the next person
        # on the on-call roster (coordination/watch/).
        "alerts-escalate": {
            "task": "coordination.alerts_escalate",
            "schedule": float(REMINDER_SWEEP_SECONDS),
            "options": {"expires": max(REMINDER_SWEEP_SECONDS - 5, 1)},
        },
    }
)
