"""One scan: a coherent slice of books in, opportunities out (docs/design.md, "The engine").

Every book is judged against the same `now_ms` by the kernel's `book_state`: a book is
left out when it is marked unhealthy, when its last ingest is older than
`stale_after_sec`, or when it is stamped more than that ahead of `now_ms`. A high lag
between the exchange's and our timestamps only flags the opportunities the book takes
part in.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Mapping, Sequence

from arbitrage.engine.spatial import find_spatial
from arbitrage.engine.triangular import find_triangular
from arbitrage.engine.types import ExchangeBookCounts, FeeSchedule, Opportunity, ScanParams, ScanResult
from kernel.book import OrderBookSnapshot, book_state


class UsdtMids:
    """USDT price of an asset: the median mid of the slice's usable ASSET-USDT books.

    Looked up lazily, since a scan only converts a handful of quote assets.
    """

    def __init__(self, by_symbol: Mapping[str, Sequence[OrderBookSnapshot]]) -> None:
        self._by_symbol = by_symbol
        self._cache: dict[str, float | None] = {"USDT": 1.0}

    def __call__(self, asset: str) -> float | None:
        if asset not in self._cache:
            books = self._by_symbol.get(f"{asset}-USDT", ())
            mids = [(book.bids[0][0] + book.asks[0][0]) / 2.0 for book in books if book.bids and book.asks]
            self._cache[asset] = statistics.median(mids) if mids else None
        return self._cache[asset]


def scan_books(books: Iterable[OrderBookSnapshot], now_ms: int, params: ScanParams, fees: FeeSchedule) -> ScanResult:
    """Every opportunity in the slice, best net edge first, with the slice's statistics."""
    latest: dict[tuple[str, str], OrderBookSnapshot] = {}
    total = duplicates = 0
    for book in books:
        total += 1
        key = (book.exchange, book.symbol)
        seen = latest.get(key)
        if seen is not None:
            duplicates += 1
            if book.ts_ingest < seen.ts_ingest:
                continue
        latest[key] = book

    per_exchange: dict[str, ExchangeBookCounts] = {}
    by_symbol: dict[str, list[OrderBookSnapshot]] = {}
    by_exchange: dict[str, list[OrderBookSnapshot]] = {}
    stale = unhealthy = future = 0
    for book in latest.values():
        counts = per_exchange.get(book.exchange)
        if counts is None:
            counts = per_exchange[book.exchange] = ExchangeBookCounts()
        state = book_state(book, now_ms, params.stale_after_sec)
        if state == "unhealthy":
            counts.unhealthy += 1
            unhealthy += 1
        elif state == "stale":
            counts.stale += 1
            stale += 1
        elif state == "future":
            counts.future += 1
            future += 1
        else:
            counts.used += 1
            by_symbol.setdefault(book.symbol, []).append(book)
            by_exchange.setdefault(book.exchange, []).append(book)

    usdt_mids = UsdtMids(by_symbol)
    started = time.perf_counter()
    spatial = find_spatial(by_symbol, usdt_mids, params, fees, now_ms)
    spatial_done = time.perf_counter()
    triangular = find_triangular(by_exchange, usdt_mids, params, fees, now_ms)
    triangular_done = time.perf_counter()

    return ScanResult(
        opportunities=sort_opportunities([*spatial, *triangular]),
        books_total=total,
        books_used=total - duplicates - stale - unhealthy - future,
        skipped_stale=stale,
        skipped_unhealthy=unhealthy,
        skipped_future=future,
        skipped_duplicate=duplicates,
        per_exchange=per_exchange,
        spatial_ms=(spatial_done - started) * 1000.0,
        triangular_ms=(triangular_done - spatial_done) * 1000.0,
    )


def sort_opportunities(opportunities: Iterable[Opportunity]) -> list[Opportunity]:
    """Best net edge first; ties in a fixed order so that equal scans print equally."""
    return sorted(
        opportunities,
        key=lambda o: (-o.net_edge_pct, o.type, o.symbol, o.buy_exchange, o.sell_exchange),
    )
