"""From ccxt's live books to canonical `OrderBookSnapshot`s in the sink, and the book gauges.

ccxt updates a hot book many times a second; the store needs it at most once per flush
window. Updates only mark a book changed (cheap, in ccxt's callback); the publisher
converts each changed book once per `publish_interval`, through the engine's own parser,
so no malformed or crossed book ever reaches the store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from exchanges.connectors.base import BookSink
from exchanges.connectors.ccxt_config import ConnectorSettings
from exchanges.connectors.exchanges import ExchangeAdapter
from exchanges.connectors.integrity import InvalidBook, TrackedBook
from exchanges.metrics import ExchangeMetrics
from kernel.book import BookError, OrderBookSnapshot, parse_book


class BookPublisher:
    def __init__(
        self,
        exchange_id: str,
        settings: ConnectorSettings,
        adapter: ExchangeAdapter,
        metrics: ExchangeMetrics,
    ) -> None:
        self.exchange_id = exchange_id
        self.settings = settings
        self.adapter = adapter
        self.metrics = metrics
        self._dirty: set[str] = set()  # unified symbols changed since the last publish
        self._event = asyncio.Event()

    def changed(self, unified: str) -> None:
        self._dirty.add(unified)
        self._event.set()

    def forget(self, unified: str) -> None:
        """Do not publish what ccxt holds for this book (it is known wrong)."""
        self._dirty.discard(unified)

    def clear(self) -> None:
        self._dirty.clear()

    async def run(
        self,
        sink: BookSink,
        books: Mapping[str, TrackedBook],
        exchange: Any,
        on_invalid: Callable[[TrackedBook, InvalidBook], None],
    ) -> None:
        while True:
            await self._event.wait()
            if self.settings.publish_interval:
                await asyncio.sleep(self.settings.publish_interval)
            self._event.clear()
            dirty, self._dirty = self._dirty, set()
            snapshots: list[OrderBookSnapshot] = []
            for unified in dirty:
                tracked = books.get(unified)
                if tracked is None or tracked.state != "live":
                    continue
                try:
                    snapshots.append(self.snapshot(tracked, exchange))
                except InvalidBook as exc:
                    on_invalid(tracked, exc)
                    continue
                tracked.published = True
            if snapshots:
                sink.put_many(snapshots)
                self.metrics.lag_ms.set(max(s.ts_ingest - s.ts_event for s in snapshots))

    def snapshot(self, tracked: TrackedBook, exchange: Any) -> OrderBookSnapshot:
        book, depth = tracked.book, self.settings.depth
        ts_ingest = tracked.received_ms
        timestamp = book.get("timestamp")
        # Some snapshots carry no exchange time (binance REST): then receipt is the best guess.
        ts_event = timestamp if isinstance(timestamp, int) and timestamp > 0 else ts_ingest
        raw = {
            "exchange": self.exchange_id,
            "symbol": tracked.market.symbol,
            # ccxt mutates its levels in place: copy them
            "bids": [[level[0], level[1]] for level in book["bids"][:depth]],
            "asks": [[level[0], level[1]] for level in book["asks"][:depth]],
            "ts_event": ts_event,
            "ts_ingest": ts_ingest,
            "is_healthy": True,
            "meta": {
                "seq_id": book.get("nonce"),
                "checksum_ok": self.adapter.checksum_ok(exchange, tracked.market.unified),
                "lag_ms": ts_ingest - ts_event,
                "exchange_symbol": tracked.market.exchange_id,
            },
        }
        try:
            return parse_book(raw)
        except BookError as exc:
            raise InvalidBook(str(exc)) from None

    async def report(self, books: Mapping[str, TrackedBook], updates: Callable[[], int]) -> None:
        """Refresh the book gauges and the update rate every second."""
        previous, since = updates(), time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            healthy = stale = unhealthy = 0
            for tracked in books.values():
                if tracked.state != "live":
                    unhealthy += 1
                elif now - tracked.received_at > self.settings.stale_after_sec:
                    stale += 1
                else:
                    healthy += 1
            self.metrics.book_counts(healthy, stale, unhealthy)
            current = updates()
            self.metrics.updates_per_second.set((current - previous) / max(now - since, 1e-9))
            previous, since = current, now
