"""Flag checks the exchanges' commands share."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError

from exchanges import registry
from exchanges.connectors.ccxt_config import CcxtConfigError, IngestConfig, load_ingest_config
from exchanges.credentials import CredentialKeyError, stored_credentials

logger = logging.getLogger(__name__)


def exchanges_flag(given: list[str] | None) -> list[str] | None:
    """The --exchanges of a command: lower-cased, without repeats, each one supported."""
    if given is None:
        return None
    try:
        return registry.select(given)
    except registry.UnknownExchange as exc:
        raise CommandError(f"--exchanges: {exc}") from None


def ccxt_config_flag(path: str | None, *, credentials: bool) -> IngestConfig:
    """The --ccxt-config of a command (default: CCXT_CONFIG_FILE).

    With `credentials`, the API keys stored in admin are laid over it: the file needs none,
    and a key there is a warning. Without (ingest: order books are public), no key reaches
    ccxt, whether stored or in the file."""
    try:
        config = load_ingest_config(path or settings.CCXT_CONFIG_FILE or None)
    except CcxtConfigError as exc:
        raise CommandError(str(exc)) from None
    for exchange in config.holding_secrets():
        logger.warning(
            "the ccxt config file holds API credentials: store them in admin (exchange API credentials), "
            "where they are encrypted, and remove them from the file"
            + ("" if credentials else "; this command reads public data and ignores them"),
            extra={"exchange": exchange, "file": config.source},
        )
    if not credentials:
        return config.public_only()
    try:
        stored = stored_credentials()
    except CredentialKeyError as exc:
        raise CommandError(str(exc)) from None
    except DatabaseError as exc:
        raise CommandError(f"cannot read the database ({str(exc).splitlines()[0]}): run `manage.py migrate`") from None
    return config.with_credentials({exchange: item.ccxt_fields() for exchange, item in stored.items()})
