"""Settings, read from the environment here and nowhere else.

Two run modes share this file:
- embedded (the default): SQLite, in-memory book store and channel layer, no broker;
- full: DATABASE_URL -> Postgres, REDIS_URL -> Redis book store, feed and channel layer,
  CELERY_BROKER_URL -> the Celery broker (defaults to REDIS_URL).
"""

import secrets
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

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
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
    "exchanges",
    "arbitrage",
    "live",
    "api",
    "notifications",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
# Beat's entries are declared in config/celery.py (their schedule reads the database).
# Exactly one beat sends tasks, however many run (a lease in Redis); no state file.
CELERY_BEAT_SCHEDULER = "arbitrage.runtime.schedules:LeaderScheduler"
CELERY_SCAN_TASK_EXPIRES_SEC = env.float("CELERY_SCAN_TASK_EXPIRES_SEC", default=10.0)
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

# --- Exchanges --------------------------------------------------------------------------
CCXT_CONFIG_FILE = env.str("CCXT_CONFIG_FILE", default="")

# --- Logging: structured (key=value) to stderr ------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": {"()": "config.logging.StructuredFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "structured",
        }
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}
