"""Flag checks the exchanges' commands share."""

from __future__ import annotations

from django.core.management.base import CommandError

from exchanges import registry


def exchanges_flag(given: list[str] | None) -> list[str] | None:
    """The --exchanges of a command: lower-cased, without repeats, each one supported."""
    if given is None:
        return None
    try:
        return registry.select(given)
    except registry.UnknownExchange as exc:
        raise CommandError(f"--exchanges: {exc}") from None
