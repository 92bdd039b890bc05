"""Bitstamp (websocket v2 `diff_order_book_<pair>` plus the REST `order_book` snapshot):
ccxt caches the diff events, fetches the snapshot once six have arrived, and applies the
cached events after the one whose `microtimestamp` equals the snapshot's. Bitstamp sends
neither a sequence number nor a checksum, so a lost event can be caught by nobody: the
microtimestamp only orders events, it does not count them. meta.checksum_ok stays null.

What this module adds is what the protocol does offer:

- Bitstamp announces maintenance with `bts:request_reconnect` and cuts the connection a
  few seconds later; ccxt ignores the notice. Here the connection is dropped at once, so
  the books are marked and resynced on a fresh server instead of going silent.
- One book found silent or invalid is resynced alone: unsubscribed and subscribed again
  (ccxt then caches its events and fetches a fresh snapshot) while its neighbours on the
  same connection keep streaming. The generic adapter would rebuild the connection that
  every Bitstamp book shares.
- A snapshot that cannot be had (HTTP errors after ccxt's retries, or one older than the
  cached events) fails that one book, which waits for the connector's paced resync. ccxt
  instead closes the connection every Bitstamp book shares, which cancels the futures of
  the other books' pending watch calls: a CancelledError that ends the connector task.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import ccxt.pro
from ccxt.base.errors import ExchangeError, NetworkError

from exchanges.connectors.exchanges.base import ExchangeAdapter, _drop
from exchanges.connectors.integrity import FailureKind, TrackedBook
from exchanges.registry import ExchangeInfo

CHANNEL = "diff_order_book_"


class CheckedBitstamp(ccxt.pro.bitstamp):
    """ccxt's bitstamp that heeds Bitstamp's reconnect requests and resyncs one book."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._resubscriptions: set[asyncio.Future[None]] = set()
        self._failed: set[str] = set()  # books whose snapshot failed, waiting for a resync

    def handle_message(self, client: Any, message: Any) -> Any:
        if isinstance(message, dict) and message.get("event") == "bts:request_reconnect":
            _drop(self, client, NetworkError(f"{self.id}: the server asked to reconnect (bts:request_reconnect)"))
            return None
        return super().handle_message(client, message)

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        if isinstance(channel, str) and self.safe_symbol(channel[len(CHANNEL) :]) in self._failed:
            return  # known wrong until the connector resyncs it
        super().handle_order_book(client, message)

    async def load_order_book(
        self, client: Any, messageHash: str, symbol: str, limit: Any = None, params: Any = None
    ) -> None:
        """ccxt's snapshot-and-merge, failing only this book when the snapshot fails."""
        stored = self.orderbooks.get(symbol)
        if stored is None:
            return
        error: BaseException
        try:
            tries = self.handle_option("watchOrderBook", "maxRetries", 3)
            for _ in range(tries):
                snapshot = await self.fetch_rest_order_book_safe(symbol, limit, params or {})
                cache = stored.cache
                index = self.get_cache_index(snapshot, cache)
                if index >= 0:
                    stored.reset(snapshot)
                    self.handle_book_deltas(stored, cache[index:])
                    cache.clear()
                    client.resolve(stored, messageHash)
                    return
            error = ExchangeError(
                f"{self.id} {symbol}: the snapshot is older than the cached events after {tries} tries"
            )
        except Exception as exc:
            error = exc
        self._failed.add(symbol)
        stored["nonce"] = None
        stored.cache = []
        client.reject(error, messageHash)

    def request_resync(self, client: Any, symbol: str) -> bool:
        """Drop the book's state and resubscribe it: a fresh snapshot follows."""
        book = self.orderbooks.get(symbol)
        if book is None:
            return False
        self._failed.discard(symbol)
        book["nonce"] = None  # ccxt caches the events again until its next snapshot
        book.cache = []
        channel = CHANNEL + self.market(symbol)["id"]
        future = asyncio.ensure_future(self._resubscribe(client, channel))
        self._resubscriptions.add(future)
        future.add_done_callback(self._resubscriptions.discard)
        return True

    async def _resubscribe(self, client: Any, channel: str) -> None:
        # A send on a dead socket fails; the reconnect that follows resubscribes everything.
        with contextlib.suppress(Exception):
            for event in ("bts:unsubscribe", "bts:subscribe"):
                if self.enableRateLimit:
                    await client.throttle(1)
                await client.send({"event": event, "data": {"channel": channel}})


class BitstampAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(CheckedBitstamp, info)

    def message_hash(self, exchange: Any, unified: str) -> str:
        return f"orderbook:{unified}"

    def resync_needed(self, kind: FailureKind) -> bool:
        # a failed snapshot leaves the book waiting for this resync (see load_order_book)
        return kind in ("invalid", "silence", "snapshot")

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        client = self.client_for(exchange, book)
        if client is None:
            return False
        return bool(exchange.request_resync(client, book.market.unified))
