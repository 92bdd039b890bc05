"""System checks for configuration that must come from the environment."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

MISSING_SECRET_KEY = (
    "SECRET_KEY is not set: set it in the environment (or DEBUG=1 for local development); "
    "sessions and tokens cannot be signed with a throwaway key."
)


@register(Tags.security)
def secret_key_is_set(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if getattr(settings, "SECRET_KEY_MISSING", False):
        return [Error(MISSING_SECRET_KEY, id="config.E001")]
    return []


def require_secret_key() -> None:
    """For server entry points, which run no system checks."""
    if getattr(settings, "SECRET_KEY_MISSING", False):
        raise ImproperlyConfigured(MISSING_SECRET_KEY)
