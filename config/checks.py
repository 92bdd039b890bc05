"""System checks for configuration that must come from the environment. Management commands
run them (`check`, `migrate`, the services); the ASGI and WSGI entry points, which run
none, call `require_secret_key()`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

MISSING_SECRET_KEY = (
    "SECRET_KEY is not set: set it in the environment (or DEBUG=1 for local development); "
    "sessions and tokens cannot be signed with a throwaway key."
)
# Values seen in examples and tutorials: whoever reads them can forge sessions and tokens.
KNOWN_KEYS = frozenset({"change-me", "changeme", "secret", "secret-key", "your-secret-key", "django-secret-key"})
MIN_KEY_CHARS, MIN_UNIQUE_CHARS = 50, 5  # Django's own bar (security.W009)
GENERATE = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'


def secret_key_problem() -> str | None:
    """Why the SECRET_KEY in force must not sign anything, or None. Outside DEBUG a short,
    repetitive, generated-by-default or well-known key is refused."""
    if getattr(settings, "SECRET_KEY_MISSING", False):
        return MISSING_SECRET_KEY
    if settings.DEBUG:
        return None
    key = str(settings.SECRET_KEY)
    weak = (
        key.lower() in KNOWN_KEYS
        or key.startswith(("django-insecure", "insecure-dev-only"))
        or len(key) < MIN_KEY_CHARS
        or len(set(key)) < MIN_UNIQUE_CHARS
    )
    if weak:
        return (
            f"SECRET_KEY is weak or a known default (use at least {MIN_KEY_CHARS} random characters): "
            f"generate one with {GENERATE}"
        )
    return None


@register(Tags.security)
def secret_key_is_strong(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problem = secret_key_problem()
    return [Error(problem, id="config.E001")] if problem else []


@register(Tags.security)
def encryption_key_is_usable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from exchanges.credentials import key_problem

    raw = str(getattr(settings, "FIELD_ENCRYPTION_KEY", "") or "").strip()
    problem = key_problem(raw) if raw else None
    return [Error(problem, id="config.E002")] if problem else []


def require_secret_key() -> None:
    """For server entry points, which run no system checks."""
    problem = secret_key_problem()
    if problem:
        raise ImproperlyConfigured(problem)
