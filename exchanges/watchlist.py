"""What the live connectors should watch, as admins set it: enabled exchanges and symbols.

One `DatabaseWatchlist` serves every connector of an ingest process. It reads the
database at most once per `reload_every` seconds (in a worker thread: the ORM blocks), so
a watchlist edit or an exchange switched on or off in admin reaches the running process
within that time, without a restart. In whole-market mode (MarketCoverage) each exchange
watches its own discovered pairs, capped. `--symbols` replaces the symbol list (the enabled
flags of exchanges still apply); `--shard i/n` keeps this process's share of the symbols.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import close_old_connections

from exchanges.connectors.symbols import Shard
from exchanges.discovery import Verdict, watch_lists
from exchanges.models import DiscoveredMarket, Exchange, MarketCoverage, WatchedSymbol


@dataclass(frozen=True, slots=True)
class WatchlistSnapshot:
    enabled_exchanges: frozenset[str]
    symbols: tuple[str, ...]
    # Whole-market mode: each exchange's own pairs (discovered, capped); None: the watchlist.
    by_exchange: Mapping[str, tuple[str, ...]] | None = None


def read_watchlist() -> WatchlistSnapshot:
    """One read of the admin's settings (blocking; DatabaseError when the database is not there)."""
    close_old_connections()  # a long-running process: never reuse a connection the server dropped
    exchanges = frozenset(str(e) for e in Exchange.objects.filter(enabled=True).values_list("id", flat=True))
    coverage = MarketCoverage.current()
    if coverage.mode == MarketCoverage.Mode.WHOLE_MARKET:
        verdicts = [
            Verdict(row.symbol, tuple(e for e in row.exchanges if e in exchanges), True)
            for row in DiscoveredMarket.objects.filter(included=True).only("symbol", "exchanges")
        ]
        by_exchange = watch_lists(verdicts, coverage.max_symbols_per_exchange)
        symbols = tuple(sorted({symbol for chosen in by_exchange.values() for symbol in chosen}))
        return WatchlistSnapshot(exchanges, symbols, by_exchange)
    symbols = tuple(str(s) for s in WatchedSymbol.objects.filter(enabled=True).values_list("symbol", flat=True))
    return WatchlistSnapshot(exchanges, symbols)


class DatabaseWatchlist:
    def __init__(
        self,
        reload_every: float,
        *,
        shard: Shard | None = None,
        symbols: Sequence[str] | None = None,
        first: WatchlistSnapshot | None = None,
    ) -> None:
        self.reload_every: float | None = reload_every
        self._shard = shard
        self._fixed_symbols = tuple(symbols) if symbols is not None else None
        self._snapshot = first
        self._read_at = time.monotonic() if first is not None else -float("inf")
        self._lock = asyncio.Lock()

    async def symbols(self, exchange: str) -> list[str]:
        snapshot = await self._current()
        if exchange not in snapshot.enabled_exchanges:
            return []
        if self._fixed_symbols is not None:
            symbols: Sequence[str] = self._fixed_symbols
        elif snapshot.by_exchange is not None:
            symbols = snapshot.by_exchange.get(exchange, ())
        else:
            symbols = snapshot.symbols
        return self._shard.select(symbols) if self._shard is not None else list(symbols)

    async def _current(self) -> WatchlistSnapshot:
        async with self._lock:
            # Connectors ask at about the same time: one read serves them all.
            if self._snapshot is None or time.monotonic() - self._read_at >= (self.reload_every or 0) / 2:
                self._snapshot = await asyncio.to_thread(read_watchlist)
                self._read_at = time.monotonic()
            return self._snapshot
