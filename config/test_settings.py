"""Settings for the test suite: the environment still decides DATABASE_URL and REDIS_URL.
Production defaults otherwise (DEBUG off), except where the suite's own client needs
plain HTTP; the tests of those features turn them back on."""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("LOG_FORMAT", "keyvalue")  # tests read the lines of subprocesses
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-long-and-random-enough-for-django-and-hs256-jwt")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# The test client speaks plain HTTP and logs staff in without a device.
SECURE_SSL_REDIRECT = False
ADMIN_REQUIRE_OTP = False
# Static files straight from the apps (no collectstatic before the suite).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True  # finders only: no STATIC_ROOT to warn about
