"""KuCoin (classic spot `/market/level2:{symbols}`): deltas only on the socket, each
spanning sequenceStart .. sequenceEnd (one sequence per level change, the next message
starting at sequenceEnd + 1); the snapshot is REST (`level2_100`, as of its `sequence`),
fetched by ccxt once a few deltas are cached. There is no checksum.

ccxt syncs the snapshot with its cache of deltas and drops deltas older than the book,
but it never checks that a delta follows on: a lost message leaves a wrong book that
ccxt keeps serving. This module checks it: on the live stream, a delta whose
sequenceStart is beyond the book's sequence + 1 rejects the book with `InvalidNonce`;
replaying the cache over a fresh snapshot, a hole in the cache fails that sync (ccxt then
drops the connection and resubscribes).

A book is resynced on the live subscription, the way ccxt syncs every book of a new one:
it is emptied with no sequence, its deltas are cached, and ccxt fetches a REST snapshot
once `snapshotDelay` of them arrived.
"""

from __future__ import annotations

from typing import Any

import ccxt.pro
from ccxt.base.errors import InvalidNonce

from exchanges.connectors.exchanges.base import ExchangeAdapter
from exchanges.connectors.integrity import FailureKind, TrackedBook
from exchanges.registry import ExchangeInfo

LEVEL2 = "/market/level2"


def _span(delta: Any) -> tuple[int | None, int | None]:
    if not isinstance(delta, dict):
        return None, None
    start, end = delta.get("sequenceStart"), delta.get("sequenceEnd")
    return (start if isinstance(start, int) else None), (end if isinstance(end, int) else None)


class CheckedKucoin(ccxt.pro.kucoin):
    """ccxt's kucoin with every level-2 delta required to follow on from the book."""

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> None:
        topic = str(message.get("topic") or "")
        channel, _, market_id = topic.partition(":")
        data = message.get("data")
        if channel == LEVEL2 and isinstance(data, dict):
            symbol: str = self.safe_symbol(data.get("symbol", market_id), None, "-")
            book = self.orderbooks.get(symbol)
            nonce = book.get("nonce") if book is not None else None
            start, end = _span(data)
            if isinstance(nonce, int) and start is not None and end is not None and end > nonce and start > nonce + 1:
                self.restart_sync(symbol)
                error = InvalidNonce(f"{self.id} {symbol} order book delta starts at {start} after {nonce}")
                client.reject(error, "orderbook:" + symbol)
                return
        super().handle_order_book(client, message)

    def handle_book_deltas(self, orderbook: Any, deltas: list[Any]) -> None:
        """ccxt's replay of the cached deltas over a fresh snapshot: they must follow on."""
        nonce = orderbook.get("nonce")
        for delta in deltas:
            start, end = _span(delta)
            if isinstance(nonce, int) and start is not None and end is not None:
                if start > nonce + 1:
                    raise InvalidNonce(f"{self.id} cached order book delta starts at {start} after {nonce}")
                nonce = max(nonce, end)
        super().handle_book_deltas(orderbook, deltas)

    def restart_sync(self, symbol: str) -> None:
        """Empty the book with no sequence: ccxt caches its deltas and fetches a snapshot."""
        limits = self.options.get("orderBookLimits") or {}
        book = self.order_book({}, limits.get(symbol))
        book["symbol"] = symbol
        book["nonce"] = None
        book.cache = []
        self.orderbooks[symbol] = book


class KucoinAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(CheckedKucoin, info)

    def message_hash(self, exchange: Any, unified: str) -> str:
        return "orderbook:" + unified

    def resync_needed(self, kind: FailureKind) -> bool:
        # A gap restarts the book's sync at once (above); a failed snapshot makes ccxt drop
        # the connection, which resubscribes. Silent or invalid books are resynced here.
        return kind in ("invalid", "silence")

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        if self.client_for(exchange, book) is None:
            return False
        exchange.restart_sync(book.market.unified)
        return True
