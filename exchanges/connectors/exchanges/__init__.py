"""Per-exchange knowledge for the ccxt connector: a module only where an exchange needs
something of its own (binance: sizing and one-book resync; okx: its checksum when non-zero;
kraken: its CRC32 check and resubscription), the generic adapter for the rest."""

from __future__ import annotations

from collections.abc import Callable

import ccxt.pro

from exchanges.connectors.exchanges.base import ExchangeAdapter, ObservedExchange
from exchanges.connectors.exchanges.binance import BinanceAdapter
from exchanges.connectors.exchanges.kraken import KrakenAdapter
from exchanges.connectors.exchanges.okx import OkxAdapter

__all__ = ["ExchangeAdapter", "ObservedExchange", "adapter_for"]

_SPECIFIC: dict[str, Callable[[], ExchangeAdapter]] = {
    "binance": BinanceAdapter,
    "okx": OkxAdapter,
    "kraken": KrakenAdapter,
}


def adapter_for(exchange_id: str) -> ExchangeAdapter:
    specific = _SPECIFIC.get(exchange_id)
    if specific is not None:
        return specific()
    exchange_class = getattr(ccxt.pro, exchange_id, None)
    if not isinstance(exchange_class, type):
        raise ValueError(f"ccxt.pro has no exchange {exchange_id!r}")
    return ExchangeAdapter(exchange_class)
