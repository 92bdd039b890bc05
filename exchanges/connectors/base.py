"""What every market data connector is, and the sink it writes canonical books into.

A connector (simulated, replay, or one live ccxt.pro exchange) is an object with a `name`
and `async def run(self, sink)`: it produces `OrderBookSnapshot`s and hands them to the
sink until it is cancelled. It raises when it breaks (a dropped socket, a resync that
failed); `ConnectorRunner` (runner.py) restarts it with backoff, so a connector never
retries forever on its own. Returning normally means "finished" (a replay reached the end
of its file) and is not restarted.

The sink decouples the connectors' pace from the store's: a hot book that changes a
hundred times a second is written once per flush window, and every book pending in that
window goes to the store in one `write_books` call (one Redis pipeline), which is about
15x faster than writing books one by one. Store calls run in a worker thread so a slow
store never stalls the websockets of the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from exchanges.store.base import BookStore
from kernel.book import OrderBookSnapshot

logger = logging.getLogger(__name__)

BookKey = tuple[str, str]  # (exchange, symbol)


class BookSink(Protocol):
    """Where a connector puts books. `put*` never blocks and never raises."""

    def put(self, book: OrderBookSnapshot) -> None: ...

    def put_many(self, books: Iterable[OrderBookSnapshot]) -> None: ...

    async def mark_unhealthy(self, exchange: str, symbol: str, reason: str) -> None:
        """Flag a book unhealthy at once (a sequence gap, a bad checksum)."""
        ...


class Connector(Protocol):
    """A source of books. `name` identifies it in logs, restart counts and metrics."""

    @property
    def name(self) -> str: ...

    async def run(self, sink: BookSink) -> None: ...


@dataclass(slots=True)
class SinkStats:
    """Running totals; the progress log and metrics read differences between samples."""

    books_received: int = 0
    books_written: int = 0
    writes: int = 0
    write_errors: int = 0
    marked_unhealthy: int = 0

    def copy(self) -> SinkStats:
        return SinkStats(self.books_received, self.books_written, self.writes, self.write_errors, self.marked_unhealthy)


class CoalescingSink:
    """Keeps the newest book per (exchange, symbol) and writes them in batches.

    `run()` is the flush loop: it waits for a first pending book, lets the window fill for
    `flush_interval` seconds, then writes everything pending in one store call. When the
    store fails the batch is kept (a newer book for the same key still wins) and retried
    after a growing pause, so a Redis outage loses nothing but superseded books.
    """

    def __init__(
        self,
        store: BookStore,
        flush_interval: float = 0.1,
        retry_initial: float = 0.5,
        retry_cap: float = 5.0,
    ) -> None:
        if flush_interval < 0:
            raise ValueError("flush_interval must be >= 0")
        self._store = store
        self._flush_interval = flush_interval
        self._retry_initial = retry_initial
        self._retry_cap = retry_cap
        self._pending: dict[BookKey, OrderBookSnapshot] = {}
        self._has_pending = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._failures = 0
        self._last_failure_log = 0.0
        self.stats = SinkStats()
        self.written: set[BookKey] = set()  # every book this sink put in the store

    @property
    def pending(self) -> int:
        return len(self._pending)

    def put(self, book: OrderBookSnapshot) -> None:
        self._pending[book.key] = book
        self.stats.books_received += 1
        self._has_pending.set()

    def put_many(self, books: Iterable[OrderBookSnapshot]) -> None:
        pending = self._pending
        count = 0
        for book in books:
            pending[book.key] = book
            count += 1
        if count:
            self.stats.books_received += count
            self._has_pending.set()

    async def mark_unhealthy(self, exchange: str, symbol: str, reason: str) -> None:
        # Under the flush lock: a pending or in-flight copy of the book written after the
        # flag would silently clear it.
        try:
            async with self._flush_lock:
                self._pending.pop((exchange, symbol), None)
                await asyncio.to_thread(self._store.mark_unhealthy, exchange, symbol, reason)
        except Exception as exc:
            # The connector resyncs anyway; until then the book goes stale and is skipped.
            logger.warning(
                "could not mark book unhealthy",
                extra={"exchange": exchange, "symbol": symbol, "reason": reason, "error": describe_error(exc)},
            )
            return
        self.stats.marked_unhealthy += 1

    async def flush(self) -> bool:
        """Write everything pending now; False when the store failed (the books are kept)."""
        async with self._flush_lock:
            if not self._pending:
                self._has_pending.clear()
                return True
            batch, self._pending = self._pending, {}
            self._has_pending.clear()
            try:
                written = await asyncio.to_thread(self._store.write_books, list(batch.values()))
            except Exception as exc:
                self._requeue(batch)
                self._note_failure(exc, len(batch))
                return False
            if self._failures:
                logger.info("book store writes recovered", extra={"failed_attempts": self._failures})
                self._failures = 0
            self.stats.writes += 1
            self.stats.books_written += written
            self.written.update(batch)
            return True

    async def run(self) -> None:
        """Flush loop; runs until cancelled. Call `flush()` after cancelling it to drain."""
        while True:
            await self._has_pending.wait()
            if self._flush_interval:
                await asyncio.sleep(self._flush_interval)
            if not await self.flush():
                pause = min(self._retry_cap, self._retry_initial * 2 ** (self._failures - 1))
                await asyncio.sleep(pause)

    async def mark_all_unhealthy(self, reason: str) -> int:
        """Flag every book this sink wrote unhealthy (a clean stop: nothing will keep them
        current); how many were flagged. Store errors are logged, not raised."""
        try:
            return await asyncio.to_thread(self._store.mark_unhealthy_many, sorted(self.written), reason)
        except Exception as exc:
            logger.warning(
                "could not mark the books unhealthy at shutdown; they go stale instead",
                extra={"books": len(self.written), "error": describe_error(exc)},
            )
            return 0

    def _requeue(self, batch: dict[BookKey, OrderBookSnapshot]) -> None:
        # Books put while the write was in flight are newer: they win over the failed batch.
        batch.update(self._pending)
        self._pending = batch
        self._has_pending.set()

    def _note_failure(self, exc: BaseException, books: int) -> None:
        self._failures += 1
        self.stats.write_errors += 1
        now = time.monotonic()
        # One line when the outage starts and one per 30 s while it lasts, not one per flush.
        if self._failures == 1 or now - self._last_failure_log >= 30:
            self._last_failure_log = now
            logger.warning(
                "book store write failed; keeping the books and retrying",
                extra={"books": books, "failed_attempts": self._failures, "error": describe_error(exc)},
            )


def describe_error(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
