"""Gate (spot, order book V2 channel `spot.obu`): ccxt 4.5.90 subscribes `ob.<PAIR>.50`,
takes the first push (`full: true`) as the book and applies every increment whose last
depth id `u` is beyond the book's, without checking that its first id `U` follows on: a
lost increment raises nothing and leaves the book wrong for good. Gate sends no checksum,
so the depth ids are the only integrity check there is; this module verifies them.

Gate's rule: an increment is continuous when U = the book's id + 1; otherwise unsubscribe
and subscribe again, which brings a new full book (a second subscription to the same
stream on a connection is refused with "Alert sub"). On a break the book is dropped, its
future rejected with `InvalidNonce`, its increments ignored until the new full book
arrives, and the stream resubscribed on the live connection, neighbours untouched.

ccxt's gate has no `watch_order_book_for_symbols`, and every spot book lives on one
connection. Watched one symbol per batch (the connector's way for such exchanges), one
quiet book would look like a dead connection and every neighbour would be reconnected;
so this class provides the batch call (one subscription per symbol, as ccxt sends them).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import ccxt.pro
from ccxt.base.errors import InvalidNonce

from exchanges.connectors.exchanges.base import ExchangeAdapter, watch_each
from exchanges.connectors.integrity import TrackedBook
from exchanges.registry import ExchangeInfo


class CheckedGate(ccxt.pro.gate):
    """ccxt's gate with the `spot.obu` depth ids checked on every increment."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._resyncing: set[str] = set()
        self._resubscribing: set[str] = set()
        self._resubscriptions: set[asyncio.Future[None]] = set()

    def handle_new_spot_order_book(self, client: Any, message: dict[str, Any]) -> None:
        result = message.get("result")
        stream = result.get("s") if isinstance(result, dict) else None
        if not isinstance(result, dict) or not isinstance(stream, str):
            return
        parts = stream.split(".")
        symbol = self.safe_symbol(parts[1] if len(parts) > 1 else None, None, "_", "spot")
        if result.get("full"):
            self._resyncing.discard(symbol)
            super().handle_new_spot_order_book(client, message)
            return
        if symbol in self._resyncing:
            return  # an increment to a book known wrong: the full book replaces it anyway
        book = self.orderbooks.get(symbol)
        nonce = book.get("nonce") if book is not None else None
        first, last = result.get("U"), result.get("u")
        if nonce is None or not isinstance(first, int) or not isinstance(last, int) or last <= nonce:
            super().handle_new_spot_order_book(client, message)  # ccxt ignores these
            return
        if first != nonce + 1:
            self.orderbooks.pop(symbol, None)
            self.request_resync(client, symbol)
            error = InvalidNonce(f"{self.id} {symbol}: depth id {first} does not follow {nonce}")
            client.reject(error, self.book_hash(symbol))
            return
        super().handle_new_spot_order_book(client, message)

    async def watch_order_book_for_symbols(
        self, symbols: list[str], limit: int | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        return await watch_each(self, symbols, limit, params)

    @staticmethod
    def book_hash(symbol: str) -> str:
        return "orderbook:" + symbol

    def request_resync(self, client: Any, symbol: str) -> None:
        """Ignore the book's increments and ask Gate for a new full book of it."""
        self._resyncing.add(symbol)
        if symbol in self._resubscribing:
            return  # one unsubscribe/subscribe at a time: a second subscribe would be refused
        self._resubscribing.add(symbol)
        subscription = client.subscriptions.get(self.book_hash(symbol))
        limit = subscription.get("limit") if isinstance(subscription, dict) else None
        interval = self.handle_option("watchOrderBook", "interval", "50")
        stream = f"ob.{self.market_id(symbol)}.{'400' if limit == 400 else interval}"
        future = asyncio.ensure_future(self._resubscribe(client, symbol, stream))
        self._resubscriptions.add(future)
        future.add_done_callback(self._resubscriptions.discard)
        future.add_done_callback(lambda _: self._resubscribing.discard(symbol))

    async def _resubscribe(self, client: Any, symbol: str, stream: str) -> None:
        # A send on a dead socket fails; the reconnect that follows subscribes afresh.
        with contextlib.suppress(Exception):
            for event in ("unsubscribe", "subscribe"):
                request_id = self.request_id()
                if event == "subscribe":
                    # so an error reply fails this book's future, not every one on the socket
                    client.subscriptions[str(request_id)] = self.book_hash(symbol)
                if self.enableRateLimit:
                    await client.throttle(1)
                request = {"id": request_id, "time": self.seconds(), "channel": "spot.obu", "event": event}
                await client.send({**request, "payload": [stream]})


class GateAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(CheckedGate, info)

    def batched(self, exchange: Any) -> bool:
        # Every spot book shares one connection: watched one symbol per batch, a quiet
        # book would look like a dead connection and its neighbours would be reconnected.
        return True

    def message_hash(self, exchange: Any, unified: str) -> str:
        return CheckedGate.book_hash(unified)

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        client = self.client_for(exchange, book)
        if client is None:
            return False
        exchange.orderbooks.pop(book.market.unified, None)
        exchange.request_resync(client, book.market.unified)
        return True
