"""One exchange's live order books through ccxt.pro, written to the sink in canonical form.

ccxt does the protocol work: the snapshot + delta sync, sequence checks, reconnecting a
websocket when asked to watch again. This connector drives it and covers what ccxt
leaves to its caller (docs/design.md, "Reliability"):

- Subscriptions go out in batches (`watch_order_book_for_symbols` where the exchange has
  it, one `watch_order_book` per symbol otherwise). Few batches sync at once (one where
  batches are large) and ccxt's rate limiter, always on, paces the REST snapshots they
  trigger: hundreds of symbols do not trip an exchange's limits.
- Every book ccxt applies is seen through `ObservedExchange` (connectors/exchanges/base.py), marked
  changed, and converted at most once per `publish_interval` into an `OrderBookSnapshot`
  (validated by the engine's parser) carrying `seq_id`, `checksum_ok`, `lag_ms` and the
  exchange's own market id in `meta`.
- A book ccxt rejects (gap, checksum, failed snapshot) is marked unhealthy in the store at
  once, counted, and resubscribed after a pause that grows while failures repeat.
- A dropped connection (ccxt raises, and does not reconnect on its own) or a silent one
  (the watchdog of integrity.py) marks the batch's books unhealthy, counts a reconnect
  and watches again after an exponential backoff with jitter and a cap.
- The watchlist is read again every `reload_every` seconds; a change restarts the session
  with a fresh ccxt instance, and books no longer watched are marked unhealthy.

A failure ccxt cannot recover from by retrying (a symbol it rejects, a missing method)
raises out of `run()`: the runner restarts the whole connector with its own backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ccxt.base.errors import NetworkError, RequestTimeout

from exchanges.connectors.base import BookSink, describe_error
from exchanges.connectors.ccxt_config import ConnectorSettings, IngestConfig
from exchanges.connectors.ccxt_publisher import BookPublisher
from exchanges.connectors.exchanges import ExchangeAdapter, adapter_for
from exchanges.connectors.integrity import (
    FATAL_ERRORS,
    BatchHealth,
    FailureKind,
    InvalidBook,
    ResyncPacer,
    TrackedBook,
    Trouble,
)
from exchanges.connectors.symbols import MarketRef, SymbolSource, resolve_markets
from exchanges.metrics import ExchangeMetrics

logger = logging.getLogger(__name__)

_JITTER = random.Random()  # reconnect jitter: spreads exchanges that dropped together


@dataclass(slots=True)
class ConnectorStats:
    """What tests and logs read: counts since the connector was made."""

    sessions: int = 0
    updates: int = 0
    reconnects: int = 0
    reconnect_reasons: Counter[str] = field(default_factory=Counter)
    reconnect_delays: deque[float] = field(default_factory=lambda: deque(maxlen=64))
    failures: Counter[str] = field(default_factory=Counter)  # by FailureKind
    resync_delays: deque[float] = field(default_factory=lambda: deque(maxlen=64))


def build_connector(exchange_id: str, config: IngestConfig, symbols: SymbolSource) -> CcxtConnector:
    """A connector for `exchange_id` configured by a checked --ccxt-config file."""
    adapter = adapter_for(exchange_id)
    return CcxtConnector(
        exchange_id,
        symbols,
        ccxt_config=config.ccxt_config(exchange_id, adapter.ccxt_defaults),
        settings=config.settings(exchange_id, adapter.settings_defaults),
        adapter=adapter,
    )


class CcxtConnector:
    def __init__(
        self,
        exchange_id: str,
        symbols: SymbolSource,
        *,
        ccxt_config: Mapping[str, Any],
        settings: ConnectorSettings,
        adapter: ExchangeAdapter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = exchange_id
        self.settings = settings
        self.stats = ConnectorStats()
        self._reported_missing: set[str] = set()  # watched symbols the exchange does not list
        self._symbols = symbols
        self._ccxt_config = dict(ccxt_config)
        self._adapter = adapter or adapter_for(exchange_id)
        self._clock = clock
        self._metrics = ExchangeMetrics(exchange_id)
        self._publisher = BookPublisher(exchange_id, settings, self._adapter, self._metrics)
        # per session
        self._exchange: Any = None
        self._books: dict[str, TrackedBook] = {}  # by unified symbol
        self._batches: list[BatchHealth] = []
        self._sync_slots = asyncio.Semaphore(1)

    # --- the session -----------------------------------------------------------------

    async def run(self, sink: BookSink) -> None:
        watched = await self._symbols.symbols(self.name)
        while True:
            if not watched:
                logger.info(
                    "nothing to watch (exchange disabled in admin, or no symbol in this shard); idle",
                    extra={"exchange": self.name},
                )
                watched = await self._next_watchlist(watched)
                continue
            changed = await self._session(sink, watched)
            gone = sorted(set(watched) - set(changed))
            for symbol in gone:
                await sink.mark_unhealthy(self.name, symbol, "no longer watched")
            logger.info(
                "watchlist changed; restarting the session",
                extra={"exchange": self.name, "symbols": len(changed), "dropped": ",".join(gone) or "-"},
            )
            watched = changed

    async def _session(self, sink: BookSink, symbols: list[str]) -> list[str]:
        """Watch `symbols` until the watchlist changes (the new one is returned) or something
        beyond retrying happens (raised)."""
        exchange = self._adapter.create(self._ccxt_config)
        exchange.ingest_observer = self
        self._exchange = exchange
        self.stats.sessions += 1
        tasks: list[asyncio.Task[Any]] = []
        try:
            await exchange.load_markets()
            markets, missing = resolve_markets(exchange.markets, symbols)
            # Skipped, never retried, and said once: a new session (a watchlist change, a
            # restart) names only what was not said before.
            unsaid = [symbol for symbol in missing if symbol not in self._reported_missing]
            self._reported_missing.update(unsaid)
            if unsaid:
                logger.warning(
                    "symbols not listed on the exchange are skipped",
                    extra={"exchange": self.name, "count": len(unsaid), "symbols": ",".join(unsaid[:20])},
                )
            self._track(exchange, markets)
            watcher = asyncio.create_task(self._next_watchlist(symbols), name=f"{self.name}-watchlist")
            tasks.append(watcher)
            for batch in self._batches:
                tasks.append(asyncio.create_task(self._run_batch(sink, batch), name=f"{self.name}-batch"))
            if self._batches:
                publish = self._publisher.run(sink, self._books, exchange, self._invalid)
                report = self._publisher.report(self._books, lambda: self.stats.updates)
                tasks.append(asyncio.create_task(publish, name=f"{self.name}-publish"))
                tasks.append(asyncio.create_task(report, name=f"{self.name}-metrics"))
            logger.info(
                "watching order books",
                extra={"exchange": self.name, "symbols": len(markets), "batches": len(self._batches)},
            )
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if watcher in done:
                return list(watcher.result())
            for task in done:
                task.result()  # a batch that raised: out to the runner
            raise RuntimeError(f"{self.name}: a connector task ended on its own")
        finally:
            exchange.ingest_observer = None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._exchange = None
            self._books, self._batches = {}, []
            self._publisher.clear()
            with contextlib.suppress(Exception):
                await exchange.close()

    def _track(self, exchange: Any, markets: list[MarketRef]) -> None:
        batched = self._adapter.batched(exchange)
        size = self.settings.batch_size if batched else 1
        # Few batches sync at a time (one, for exchanges that batch): their snapshot requests
        # are not queued behind many others in ccxt's rate limiter, so a sync's timeout
        # measures the exchange, not the queue.
        self._sync_slots = asyncio.Semaphore(self.settings.concurrent_syncs or (1 if batched else 8))
        now = time.monotonic()
        self._books = {}
        self._batches = []
        for start in range(0, len(markets), size):
            index = len(self._batches)
            books = [TrackedBook(m, index, state_since=now) for m in markets[start : start + size]]
            self._books.update((b.market.unified, b) for b in books)
            self._batches.append(BatchHealth(index, books))

    async def _next_watchlist(self, current: Sequence[str]) -> list[str]:
        """Wait until the watchlist differs from `current`; return it."""
        every = self._symbols.reload_every
        while True:
            if every is None:
                await asyncio.Event().wait()  # a fixed list: never changes
            await asyncio.sleep(every or 0)
            try:
                fresh = await self._symbols.symbols(self.name)
            except Exception as exc:  # a database hiccup must not stop live data
                logger.warning(
                    "cannot reload the watchlist", extra={"exchange": self.name, "error": describe_error(exc)}
                )
                continue
            if set(fresh) != set(current):
                return fresh

    # --- one batch: subscribe, watch, recover -----------------------------------------

    async def _run_batch(self, sink: BookSink, batch: BatchHealth) -> None:
        settings = self.settings
        pacer = ResyncPacer(settings.resync_initial, settings.resync_cap)
        attempt = 0
        while True:
            batch.clear_connection()  # reports about the previous connection are settled
            try:
                await self._sync(batch)
            except TimeoutError:
                trouble = Trouble(batch_silent=True)
            except asyncio.CancelledError as exc:
                current = asyncio.current_task()
                if current is None or current.cancelling():
                    raise  # the session is ending
                # ccxt cancelled the watch under us (it closed the connection the batch
                # shares, e.g. after a failed snapshot): the connection failed.
                trouble = batch.take() or Trouble(
                    connection=NetworkError(f"watch cancelled: {exc or 'connection closed'}")
                )
            except FATAL_ERRORS:
                raise
            except Exception as exc:
                trouble = batch.take()
                if not trouble:
                    if not isinstance(exc, NetworkError):
                        raise
                    trouble = Trouble(connection=exc)
            else:
                if all(book.state == "live" for book in batch.books):
                    # One good (re)sync is enough: the next incident starts from scratch,
                    # however soon it comes and whatever came before.
                    attempt = 0
                    pacer.recovered()
                trouble = await self._watch(batch)
            if trouble.connection is not None or trouble.batch_silent:
                await self._reconnect(sink, batch, trouble, attempt)
                attempt += 1
            else:
                await self._resync(sink, batch, trouble, pacer)

    async def _sync(self, batch: BatchHealth) -> None:
        """(Re)subscribe the batch and hold the sync slot until its books have their
        snapshots. TimeoutError when no book of the batch updated within `silence_sec`."""
        settings = self.settings
        async with self._sync_slots:
            batch.subscribed_at = time.monotonic()
            # ccxt holds a dial back while a url keeps failing; that wait is not silence
            dialing = self._adapter.pending_dial_delay(self._exchange)
            await asyncio.wait_for(self._subscribe(batch), timeout=settings.silence_sec + dialing)
            deadline = batch.subscribed_at + settings.silence_sec
            while not batch.settled and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if settings.subscribe_interval:
                await asyncio.sleep(settings.subscribe_interval)

    async def _subscribe(self, batch: BatchHealth) -> None:
        """Subscribe (or resubscribe) the batch; returns once one of its books updates."""
        exchange, limit = self._exchange, self.settings.watch_limit
        symbols = [b.market.unified for b in batch.books]
        if len(symbols) == 1 and not self._adapter.batched(exchange):
            await exchange.watch_order_book(symbols[0], limit)
        else:
            await exchange.watch_order_book_for_symbols(symbols, limit)

    async def _watch(self, batch: BatchHealth) -> Trouble:
        """Wait for trouble: a report from ccxt's callbacks, or silence."""
        batch_limit, book_limit = self.settings.batch_silence_limit, self.settings.book_silence_limit
        while True:
            # Look four times per shortest limit: a silence is caught within a quarter of it.
            tick = min(0.5, max(0.02, batch.shortest_limit(batch_limit, book_limit) / 4))
            if await batch.wait(tick):
                trouble = batch.take()
                if trouble:
                    return trouble
            trouble = batch.check_silence(time.monotonic(), batch_limit, book_limit)
            if trouble:
                return trouble

    async def _reconnect(self, sink: BookSink, batch: BatchHealth, trouble: Trouble, attempt: int) -> None:
        if trouble.batch_silent:
            limit = self.settings.batch_silence_limit(batch.usual_gap.value)
            reason, error = "silence", f"no update for {limit:.3g} s"
            self._adapter.drop_connections(
                self._exchange, self._urls_of(batch), RequestTimeout(f"{self.name}: {error} (watchdog)")
            )
        else:
            assert trouble.connection is not None
            closed = "closed" in str(trouble.connection).lower()
            reason, error = ("closed" if closed else "error"), describe_error(trouble.connection)
        for book in batch.books:
            await self._mark(sink, book, f"connection lost ({reason})")
        delay = self.settings.reconnect.delay(attempt, _JITTER)
        self.stats.reconnects += 1
        self.stats.reconnect_reasons[reason] += 1
        self.stats.reconnect_delays.append(delay)
        self._metrics.reconnect(reason)
        logger.warning(
            "order book stream lost; reconnecting after backoff",
            extra={
                "exchange": self.name,
                "batch": batch.index,
                "reason": reason,
                "error": error,
                "attempt": attempt + 1,
                "reconnect_in_sec": round(delay, 3),
            },
        )
        await asyncio.sleep(delay)

    async def _resync(self, sink: BookSink, batch: BatchHealth, trouble: Trouble, pacer: ResyncPacer) -> None:
        """Mark the failed books at once; resync them after the paced delay, so a run of
        failed snapshots (HTTP 429) slows down instead of hammering the exchange."""
        to_resync: list[TrackedBook] = []
        for unified, (kind, error) in trouble.failures.items():
            book = batch.by_unified[unified]
            self._count_failure(kind)
            if self._adapter.resync_needed(kind):
                to_resync.append(book)
            await self._mark(sink, book, f"{kind}: {describe_error(error)}")
            logger.warning(
                "order book resync",
                extra={
                    "exchange": self.name,
                    "symbol": book.market.symbol,
                    "kind": kind,
                    "error": describe_error(error),
                },
            )
        for book in trouble.silent_books:
            self._count_failure("silence")
            limit = self.settings.book_silence_limit(book.usual_gap.value)
            book.enter("unhealthy", time.monotonic(), "silence")
            self._publisher.forget(book.market.unified)
            to_resync.append(book)
            await self._mark(sink, book, f"no update for {limit:.3g} s")
        delay = pacer.next_delay()
        self.stats.resync_delays.append(delay)
        await asyncio.sleep(delay)
        rebuild = False
        for book in to_resync:
            rebuild |= not self._adapter.resync(self._exchange, book)
        if rebuild:
            # The exchange offers no way to resync one book: rebuild its connection.
            self._adapter.drop_connections(
                self._exchange, self._urls_of(batch), RequestTimeout(f"{self.name}: resync by reconnecting")
            )

    def _urls_of(self, batch: BatchHealth) -> set[str]:
        """The websockets a batch's books live on: where updates came from, or where ccxt
        keeps their subscriptions (a batch silent from the start). Empty if unknown."""
        urls = set(batch.urls)
        for book in batch.books:
            client = self._adapter.client_for(self._exchange, book) if book.url is None else None
            if client is not None:
                urls.add(client.url)
        return urls

    def _count_failure(self, kind: FailureKind) -> None:
        self.stats.failures[kind] += 1
        if kind == "snapshot":
            self._metrics.snapshot_errors.inc()
        else:
            self._metrics.gap(kind)

    async def _mark(self, sink: BookSink, book: TrackedBook, reason: str) -> None:
        if book.state == "live":
            book.enter("unhealthy", time.monotonic(), reason)
        self._publisher.forget(book.market.unified)
        if book.published:
            book.published = False  # once is enough until a good copy is written again
            await sink.mark_unhealthy(self.name, book.market.symbol, reason)

    # --- ccxt callbacks (BookObserver) -----------------------------------------------

    def book_updated(self, url: str, message_hash: str, book: Any) -> None:
        tracked = self._books.get(book.get("symbol"))
        if tracked is None:
            return
        now = time.monotonic()
        tracked.book = book
        tracked.url = url
        tracked.message_hash = message_hash
        tracked.received_at = now
        tracked.received_ms = int(self._clock() * 1000)
        if tracked.state != "live":
            tracked.enter("live", now)
        self._batches[tracked.batch].note_update(tracked, now)
        self.stats.updates += 1
        self._metrics.updates.inc()
        self._publisher.changed(tracked.market.unified)

    def book_failed(self, url: str, message_hash: str, error: BaseException) -> bool:
        tracked = self._book_for_hash(message_hash)
        if tracked is None:
            return False
        self._fail(tracked, self._adapter.classify(error), error)
        return True

    def connection_failed(self, url: str, error: BaseException) -> None:
        for batch in self._batches:
            if url in batch.urls:
                batch.report_connection(error)

    def _fail(self, tracked: TrackedBook, kind: FailureKind, error: BaseException) -> None:
        # Flagged here, synchronously, so the publisher cannot write the bad book before
        # the batch task has marked it unhealthy in the store.
        tracked.enter("unhealthy", time.monotonic(), kind)
        self._publisher.forget(tracked.market.unified)
        self._batches[tracked.batch].report_failure(tracked, kind, error)

    def _invalid(self, tracked: TrackedBook, error: InvalidBook) -> None:
        self._fail(tracked, "invalid", error)

    def _book_for_hash(self, message_hash: str) -> TrackedBook | None:
        for tracked in self._books.values():
            if tracked.message_hash == message_hash:
                return tracked
        return self._books.get(self._adapter.symbol_of_hash(message_hash))
