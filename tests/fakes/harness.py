"""Running the real ccxt connectors against the fakes, for tests.

`live_market(...)` starts fake exchanges, builds a --ccxt-config from their addresses
(plus short timings, so fault tests take seconds), runs `CcxtConnector`s for them under
the real `ConnectorRunner` into a real `MemoryBookStore`, and yields a `Market` to poke
and inspect. `fakes_in_thread(...)` runs fakes on an event loop of their own, for tests
that drive `manage.py ingest` as a subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from exchanges.connectors.base import CoalescingSink
from exchanges.connectors.ccxt_config import IngestConfig, parse_ingest_config
from exchanges.connectors.ccxt_connector import CcxtConnector, build_connector
from exchanges.connectors.exchanges import ExchangeAdapter
from exchanges.connectors.runner import ConnectorRunner
from exchanges.store import MemoryBookStore
from kernel.book import OrderBookSnapshot
from tests.fakes.book import TrueBook
from tests.fakes.server import FakeExchange

# Timings that keep fault tests short; each test can override them.
FAST_CONNECTOR: dict[str, Any] = {
    "publish_interval": 0.005,
    "subscribe_interval": 0,
    "silence_sec": 1.0,
    "book_silence_sec": 4.0,
    "resync_initial": 0.2,
    "resync_cap": 1.0,
}
FAST_BACKOFF: dict[str, Any] = {"initial": 0.05, "factor": 2, "cap": 0.4, "jitter": 0.25, "healthy_after": 30}


def books(*specs: tuple[str, str], seed: int = 7, tick: str = "0.1", lot: str = "0.00000001") -> list[TrueBook]:
    """True books for (symbol, mid) pairs."""
    rng = random.Random(seed)
    return [TrueBook.around(symbol, mid, tick=tick, lot=lot, rng=rng) for symbol, mid in specs]


def ingest_config(
    fakes: Iterable[FakeExchange],
    connector: Mapping[str, Any] | None = None,
    backoff: Mapping[str, Any] | None = None,
    ccxt: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A --ccxt-config document pointing each exchange at its fake; `ccxt` is merged into
    every exchange's entry."""
    document: dict[str, Any] = {
        # ccxt's rate limiter paces every request; a fast one keeps tests quick.
        fake.name: {**fake.ccxt_config(), "rateLimit": 5, "timeout": 3000, **(ccxt or {})}
        for fake in fakes
    }
    document["connector"] = {**FAST_CONNECTOR, **(connector or {})}
    document["backoff"] = {**FAST_BACKOFF, **(backoff or {})}
    return document


class MutableSymbols:
    """A watchlist a test can change while the connector runs."""

    def __init__(self, symbols: Mapping[str, list[str]], reload_every: float | None = None) -> None:
        self.by_exchange = {name: list(values) for name, values in symbols.items()}
        self.reload_every = reload_every

    async def symbols(self, exchange: str) -> list[str]:
        return list(self.by_exchange.get(exchange, []))


class MarkRecordingStore(MemoryBookStore):
    """The real in-memory store, remembering every `mark_unhealthy` call in order."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[tuple[str, str, str]] = []

    def mark_unhealthy(self, exchange: str, symbol: str, reason: str) -> bool:
        self.marks.append((exchange, symbol, reason))
        return super().mark_unhealthy(exchange, symbol, reason)

    def marked(self, exchange: str, symbol: str, containing: str = "") -> bool:
        return any(e == exchange and s == symbol and containing in r for e, s, r in self.marks)


@dataclass
class Market:
    fakes: dict[str, FakeExchange]
    connectors: dict[str, CcxtConnector]
    store: MarkRecordingStore
    runner: ConnectorRunner
    config: IngestConfig
    _pauses: list[FakeExchange] = field(default_factory=list)

    def book(self, exchange: str, symbol: str) -> OrderBookSnapshot | None:
        for stored in self.store.read_all().books:
            if stored.key == (exchange, symbol):
                return stored
        return None

    def matches_truth(self, exchange: str, symbol: str, depth: int | None = None) -> bool:
        """The stored book is the true one, to the depth the connector stores (kraken's
        10 levels its checksum covers, 25 elsewhere)."""
        stored = self.book(exchange, symbol)
        if stored is None or not stored.is_healthy:
            return False
        depth = depth if depth is not None else self.connectors[exchange].settings.depth
        bids, asks = self.fakes[exchange].books[symbol].top_floats(depth)
        return stored.bids == bids and stored.asks == asks

    def fresh(self, exchange: str, symbol: str, within_ms: float = 1000) -> bool:
        stored = self.book(exchange, symbol)
        return stored is not None and stored.is_healthy and time.time() * 1000 - stored.ts_ingest < within_ms

    async def in_sync(self, exchange: str, symbol: str, limit_sec: float = 20.0) -> OrderBookSnapshot:
        """Wait for the stored book to be healthy and updating, then freeze the fake's market
        (briefly: a frozen market is a silent one) until the stored book equals the truth."""
        fake = self.fakes[exchange]
        await eventually(lambda: self.fresh(exchange, symbol, 300), f"{exchange} {symbol} updating", limit_sec)
        fake.pause()
        try:
            await eventually(lambda: self.matches_truth(exchange, symbol), f"{exchange} {symbol} in sync", limit_sec)
        finally:
            fake.resume()
        stored = self.book(exchange, symbol)
        assert stored is not None
        return stored


@contextlib.asynccontextmanager
async def stays_fresh(
    market: Market, exchange: str = "binance", symbol: str = "BTC-USDT", within_ms: float = 1500.0
) -> AsyncIterator[list[float]]:
    """Sample one book's freshness every 20 ms while the block runs (a fault on another
    exchange must never make it stale); yields the moments (monotonic) it was not, and
    asserts at the end that there were none."""
    stale: list[float] = []

    async def sample() -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not market.fresh(exchange, symbol, within_ms=within_ms):
                stale.append(loop.time())
            await asyncio.sleep(0.02)

    task = asyncio.create_task(sample())
    try:
        yield stale
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert not stale, f"{exchange} {symbol} went stale {len(stale)} times"


async def eventually(condition: Callable[[], bool], what: str, limit_sec: float = 20.0) -> None:
    """Wait until `condition()` holds. The limit only keeps a broken test from hanging."""
    deadline = time.monotonic() + limit_sec
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def live_market(
    fakes: Iterable[FakeExchange],
    symbols: Mapping[str, list[str]] | MutableSymbols,
    *,
    connector: Mapping[str, Any] | None = None,
    backoff: Mapping[str, Any] | None = None,
    ccxt: Mapping[str, Any] | None = None,
    adapters: Mapping[str, ExchangeAdapter] | None = None,
) -> AsyncIterator[Market]:
    """Fakes and connectors running; `adapters` replaces an exchange's own adapter."""
    fakes = list(fakes)
    for fake in fakes:
        await fake.start()
    source = symbols if isinstance(symbols, MutableSymbols) else MutableSymbols(symbols)
    config = parse_ingest_config(ingest_config(fakes, connector, backoff, ccxt), "test config")
    connectors = {fake.name: build_connector(fake.name, config, source) for fake in fakes}
    for name, adapter in (adapters or {}).items():
        connectors[name] = CcxtConnector(
            name,
            source,
            ccxt_config=config.ccxt_config(name, adapter.ccxt_defaults),
            settings=config.settings(name, adapter.settings_defaults),
            adapter=adapter,
        )
    store = MarkRecordingStore()
    sink = CoalescingSink(store, flush_interval=0.005)
    runner = ConnectorRunner(list(connectors.values()), sink, backoff=config.backoff)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield Market({f.name: f for f in fakes}, connectors, store, runner, config)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        for fake in fakes:
            await fake.stop()


@contextlib.contextmanager
def fakes_in_thread(fakes: Iterable[FakeExchange]) -> Iterator[list[FakeExchange]]:
    """Serve the fakes from a background thread's event loop (for subprocess tests)."""
    fakes = list(fakes)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        for fake in fakes:
            loop.run_until_complete(fake.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="fake-exchanges", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the fake exchanges did not start")
    try:
        yield fakes
    finally:
        for fake in fakes:
            asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
