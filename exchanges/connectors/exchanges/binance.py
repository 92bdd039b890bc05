"""Binance spot: ccxt does the whole sync (REST snapshot + `U`/`u` diff events, a
`ChecksumError` on a gap or on a snapshot older than the stream); what is Binance's own
here is sizing and how to make ccxt resync one book.

- The REST snapshot's weight grows with its depth (ccxt's default of 1000 levels costs 4x
  the 100 used here), and its rate limiter paces snapshots by that weight.
- ccxt opens one websocket per `watch_order_book_for_symbols` call (up to 200 streams
  each), and one subscription covers every book of the call: resubscribing would
  re-snapshot them all and leave the neighbours of a book with a gap unhealthy too. So a
  gap resyncs that one book on the live stream instead: its deltas are buffered while a
  fresh snapshot of it alone is fetched, exactly as ccxt does for each book of a new
  subscription.
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

    def resync_needed(self, kind: FailureKind) -> bool:
        # ccxt's own way back after a gap or a failed snapshot is a resubscription of the
        # whole batch: this adapter resyncs the one book instead, whatever went wrong.
        return True

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        unified = book.market.unified
        message_hash = self.message_hash(exchange, unified)
        client = self.client_for(exchange, book)
        subscription = self._batch_subscription(client, unified) if client is not None else None
        if client is None or subscription is None:
            # No live subscription to resync on: the next watch call subscribes again
            # (Binance acknowledges, ccxt fetches fresh snapshots).
            if client is not None:
                client.subscriptions.pop(message_hash, None)
            exchange.orderbooks.pop(unified, None)
            return True
        # What ccxt's handle_order_book_subscription does for each book of a subscription,
        # for this book alone: an empty book without a nonce buffers the deltas that keep
        # coming, and the snapshot fetched meanwhile is applied under them.
        orderbook = exchange.order_book({}, subscription.get("limit"))
        orderbook["nonce"] = None
        orderbook.cache = []
        exchange.orderbooks[unified] = orderbook
        client.subscriptions[message_hash] = subscription  # so no watch call resubscribes
        exchange.spawn(
            exchange.fetch_order_book_snapshot, client, {}, exchange.extend(subscription, {"symbol": unified})
        )
        return True

    @staticmethod
    def _batch_subscription(client: Any, unified: str) -> dict[str, Any] | None:
        """The subscription of the batch `unified` belongs to, kept under its neighbours'
        message hashes (ccxt drops the failed book's own entry)."""
        for value in client.subscriptions.values():
            if isinstance(value, dict) and unified in (value.get("symbols") or ()) and value.get("name") == "depth":
                return value
        return None
