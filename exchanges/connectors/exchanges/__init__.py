"""Per-exchange knowledge for the ccxt connector: a module per exchange, adding what ccxt
skips of that exchange's protocol (its checksum, its sequence, a one-book resync; see
docs/exchanges.md for each), and the generic adapter for an exchange the registry does not
know. Which is which, and each exchange's defaults, is the exchange registry's
(exchanges.registry)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import ccxt.pro

from exchanges import registry
from exchanges.connectors.exchanges.base import ExchangeAdapter, ObservedExchange

__all__ = ["ExchangeAdapter", "ObservedExchange", "adapter_for"]


def adapter_for(exchange_id: str) -> ExchangeAdapter:
    info = registry.BY_ID.get(exchange_id)
    if info is not None and info.adapter:
        module, _, name = info.adapter.partition(":")
        specific: Callable[[registry.ExchangeInfo], ExchangeAdapter] = getattr(importlib.import_module(module), name)
        return specific(info)
    exchange_class = getattr(ccxt.pro, exchange_id, None)
    if not isinstance(exchange_class, type):
        raise ValueError(f"ccxt.pro has no exchange {exchange_id!r}")
    return ExchangeAdapter(exchange_class, info)
