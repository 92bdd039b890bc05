"""Binance spot: ccxt does the whole sync (REST snapshot + `U`/`u` diff events, a
`ChecksumError` on a gap or on a snapshot older than the stream); what is Binance's own
here is sizing and how to make ccxt resync one book.

- The REST snapshot's weight grows with its depth (ccxt's default of 1000 levels costs 4x
  the 100 used here), and its rate limiter paces snapshots by that weight.
- ccxt opens one websocket per `watch_order_book_for_symbols` call (up to 200 streams
  each). A resubscription re-snapshots every book of the call, so batches stay small.
- Only spot markets are loaded (ccxt also loads both futures markets by default).
"""

from __future__ import annotations

from typing import Any

import ccxt.pro
from ccxt.base.errors import InvalidNonce

from exchanges.connectors.exchanges.base import ExchangeAdapter
from exchanges.connectors.integrity import FailureKind, TrackedBook, failure_kind
from exchanges.registry import ExchangeInfo


class BinanceAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(ccxt.pro.binance, info)

    def message_hash(self, exchange: Any, unified: str) -> str:
        return "orderbook::" + unified

    def classify(self, error: BaseException) -> FailureKind:
        # Binance sends no checksum: ccxt's ChecksumError here means U/u did not follow on.
        return "sequence" if isinstance(error, InvalidNonce) else failure_kind(error)

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        # Without its subscription entry the next watch call subscribes again; Binance
        # acknowledges and ccxt fetches fresh snapshots. Without the book, deltas that
        # arrive meanwhile are dropped instead of applied to a book known to be wrong.
        client = self.client_for(exchange, book)
        if client is not None:
            client.subscriptions.pop(self.message_hash(exchange, book.market.unified), None)
        exchange.orderbooks.pop(book.market.unified, None)
        return True
