"""Settings, read from the environment here and nowhere else.

Two run modes share this file:
- embedded (the default): SQLite, in-memory book store and channel layer, no broker;
- full: DATABASE_URL -> Postgres, REDIS_URL -> Redis book store, feed and channel layer,
  CELERY_BROKER_URL -> the Celery broker (defaults to REDIS_URL).
"""

import secrets
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# An optional .env file next to manage.py, for operators who prefer one.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
_DEV_SECRET = "insecure-dev-only-secret-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="") or (_DEV_SECRET if DEBUG else "")
# Without a key, one-off commands (`manage.py scan --books ...`) still run on a throwaway
# key; the system check config.E001 stops `check`, `migrate` and the servers (config/checks.py).
SECRET_KEY_MISSING = not SECRET_KEY
if SECRET_KEY_MISSING:
    SECRET_KEY = "ephemeral-" + secrets.token_urlsafe(48)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Transport security: production defaults outside DEBUG (`check --deploy` is clean) -----
# Behind nginx (docker-compose), which sets X-Forwarded-Proto and X-Forwarded-For: trust
# them. Never set this when clients reach the app directly (they could forge both).
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes and the metrics scraper talk plain HTTP inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# The directive alone enrols nothing: the domain is preloaded only once submitted to hstspreload.org.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Logins: a second factor for admin, throttling everywhere ------------------------------
# Admin asks for a TOTP code whenever DEBUG is off; the embedded demo (DEBUG=1) does not.
ADMIN_REQUIRE_OTP = not DEBUG
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Arbitrage scanner")
# django-axes: after LOGIN_FAILURE_LIMIT failures for one account, or from one address,
# logins are refused for LOGIN_LOCKOUT_MINUTES (admin, the dashboard and the token endpoint).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.locked_out"
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]
if BEHIND_PROXY:
    AXES_IPWARE_PROXY_COUNT = 1
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: it refuses a locked-out login
    "django.contrib.auth.backends.ModelBackend",
]

# --- Exchange credentials: encrypted at rest (exchanges/credentials.py) -----------------
# Comma-separated Fernet keys, newest first; `manage.py rotate_credentials_key` re-encrypts
# every stored credential under the first. Generate one with
# `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")

INSTALLED_APPS = [
    "daphne",
    "accounts.apps.SecureAdminConfig",  # django.contrib.admin, behind the second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework_simplejwt",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served offline
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "accounts",
    "exchanges",
    "arbitrage",
    "live",
    "api",
    "notifications",
    "ops",
    "demo",
]

MIDDLEWARE = [
    "api.boundary.HostileInputMiddleware",  # first: refuses what no view should see
    "django.middleware.security.SecurityMiddleware",
    # Static files without a web server in front (`make full`); nginx serves them in Compose.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the clear refusal
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# An empty DATABASE_URL means the default, like an unset one.
_DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(_DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded demo writes from the scan timer while admin reads: wait, don't fail.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- REST API (DRF) ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Arbitrage scanner API",
    "DESCRIPTION": "Opportunities, episodes, book health, exchanges, fees and scanner settings.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Redis: the book store, the opportunities feed and the channel layer -----------------
# Empty means embedded mode: everything lives in this process.
REDIS_URL = env.str("REDIS_URL", default="")
BOOK_KEY_PREFIX = env.str("BOOK_KEY_PREFIX", default="book:")
FEED_STREAM = env.str("FEED_STREAM", default="opportunities_feed")
FEED_MAXLEN = env.int("FEED_MAXLEN", default=1000)

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Above channels-redis's 5 s blocking read, so an idle read is not a timeout.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery (CELERY_ namespace, see config/celery.py) -----------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or "cache+memory://")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery 6's default, taken now: a task running when the broker connection drops is given
# up (its scan's lease runs out within an interval) rather than acknowledged into the void.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Beat's entries are declared in config/celery.py (their schedule reads the database).
# Exactly one beat sends tasks, however many run (a lease in Redis); no state file.
CELERY_BEAT_SCHEDULER = "arbitrage.runtime.schedules:LeaderScheduler"
CELERY_SCAN_TASK_EXPIRES_SEC = env.float("CELERY_SCAN_TASK_EXPIRES_SEC", default=10.0)
# Scan records and closed episodes older than this are deleted daily (0: kept for ever).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=90)
# Split each scan across this many Celery workers by symbol shard (1 = one worker scans all).
SCAN_SHARDS = env.int("SCAN_SHARDS", default=1)

# --- Telegram (notifications/) --------------------------------------------------------
# Empty token: notifications are off (logged once at start), everything else runs.
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
# A self-hosted Bot API server, e.g. http://127.0.0.1:8081/bot (python-telegram-bot's base_url).
TELEGRAM_API_URL = env.str("TELEGRAM_API_URL", default="")
TELEGRAM_DIGEST_PERIOD_SEC = env.float("TELEGRAM_DIGEST_PERIOD_SEC", default=60.0)
TELEGRAM_INSTANT_PERIOD_SEC = env.float("TELEGRAM_INSTANT_PERIOD_SEC", default=5.0)
DASHBOARD_URL = env.str("DASHBOARD_URL", default="http://127.0.0.1:8000/")

# --- Observability -------------------------------------------------------------------
# The Prometheus scraper's bearer token for /metrics (empty: staff session only).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# The worker, beat, ingest and the bot serve their metrics on this port (0: not served);
# the web process serves them at /metrics. See cli/exporter.py.
METRICS_PORT = env.int("METRICS_PORT", default=0)

# --- Exchanges --------------------------------------------------------------------------
CCXT_CONFIG_FILE = env.str("CCXT_CONFIG_FILE", default="")
# Beat runs `sync_fees` (withdrawal networks and fees, taker fees) this often; 0: never
# (test and soak harnesses, which have no internet, set 0).
FEE_SYNC_PERIOD_SEC = env.float("FEE_SYNC_PERIOD_SEC", default=3600.0)
# Beat runs `discover_markets` this often while the market coverage is "whole market"
# (admin); in watchlist mode the task does nothing. 0: never.
MARKET_DISCOVERY_PERIOD_SEC = env.float("MARKET_DISCOVERY_PERIOD_SEC", default=86400.0)

# --- Logging: structured, in every process -------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# "json" (a JSON object a line, for log pipelines) or "keyvalue" (for people).
LOG_FORMAT = env.str("LOG_FORMAT", default="keyvalue" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "keyvalue": {"()": "config.logging.StructuredFormatter"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json" if LOG_FORMAT == "json" else "keyvalue",
        }
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own console handlers (DEBUG) would print every django.* line twice.
        "django": {"handlers": [], "propagate": True},
        "django.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # ccxt logs each request with its headers (API keys) at DEBUG: never, whatever
        # LOG_LEVEL says.
        "ccxt": {"level": "INFO"},
        # django-axes says INFO at every start and every failed login; lock-outs are WARNING.
        "axes": {"level": "WARNING"},
    },
}
