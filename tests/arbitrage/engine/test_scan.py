"""scan_books: one coherent slice against one `now`, and what it says about the slice."""

from __future__ import annotations

from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import FeeSchedule, ScanParams
from tests.arbitrage.engine.factories import NOW, book


def pair(symbol: str = "BTC-USDT", bid: float = 101.0, **okx: object) -> list:
    return [
        book("okx", symbol, bids=[[99.9, 100]], asks=[[100, 100]], **okx),  # type: ignore[arg-type]
        book("binance", symbol, bids=[[bid, 100]], asks=[[bid + 0.1, 100]]),
    ]


def test_stale_books_are_skipped_at_the_boundary() -> None:
    at_bound = scan_books(pair(ts_ingest=NOW - 10_000), NOW, ScanParams(), FeeSchedule())
    assert at_bound.skipped_stale == 0 and len(at_bound.opportunities) == 1
    past = scan_books(pair(ts_ingest=NOW - 10_001), NOW, ScanParams(), FeeSchedule())
    assert past.skipped_stale == 1 and past.opportunities == []
    longer = scan_books(pair(ts_ingest=NOW - 10_001), NOW, ScanParams(stale_after_sec=10.5), FeeSchedule())
    assert len(longer.opportunities) == 1


def test_books_stamped_in_the_future_are_not_trusted() -> None:
    # An hour ahead (a clock gone wrong) would otherwise look fresh for an hour.
    ahead = scan_books(pair(ts_ingest=NOW + 3_600_000), NOW, ScanParams(), FeeSchedule())
    assert ahead.opportunities == [] and ahead.skipped_future == 1 and ahead.books_used == 1
    assert ahead.per_exchange["okx"].future == 1
    # Up to stale_after_sec ahead is clock skew the scan tolerates, ts_event included.
    skewed = scan_books(pair(ts_ingest=NOW + 10_000, lag_ms=0), NOW, ScanParams(), FeeSchedule())
    assert skewed.skipped_future == 0 and len(skewed.opportunities) == 1
    event_ahead = scan_books(pair(ts_ingest=NOW, lag_ms=-10_001), NOW, ScanParams(), FeeSchedule())
    assert event_ahead.skipped_future == 1 and event_ahead.opportunities == []


def test_unhealthy_books_are_skipped() -> None:
    result = scan_books(pair(healthy=False), NOW, ScanParams(), FeeSchedule())
    assert result.opportunities == []
    assert (result.books_total, result.books_used, result.skipped_unhealthy) == (2, 1, 1)


def test_statistics_per_exchange() -> None:
    books = [
        *pair(),
        book("okx", "ETH-USDT", bids=[[1, 1]], asks=[[2, 1]], ts_ingest=NOW - 60_000),
        book("okx", "SOL-USDT", bids=[[1, 1]], asks=[[2, 1]], healthy=False),
        book("kraken", "BTC-USDT", bids=[[1, 1]], asks=[[2, 1]], healthy=False, ts_ingest=NOW - 60_000),
    ]
    result = scan_books(books, NOW, ScanParams(), FeeSchedule())
    assert (result.books_total, result.books_used, result.skipped_stale, result.skipped_unhealthy) == (5, 2, 1, 2)
    counts = {name: c.as_dict() for name, c in result.per_exchange.items()}
    assert counts == {
        "okx": {"used": 1, "stale": 1, "unhealthy": 1, "future": 0},
        "binance": {"used": 1, "stale": 0, "unhealthy": 0, "future": 0},
        "kraken": {"used": 0, "stale": 0, "unhealthy": 1, "future": 0},
    }
    assert result.spatial_ms >= 0 and result.triangular_ms >= 0


def test_a_book_listed_twice_counts_once_newest_first() -> None:
    old = book("binance", "BTC-USDT", bids=[[150, 100]], asks=[[150.1, 100]], ts_ingest=NOW - 5_000)
    result = scan_books([*pair(), old], NOW, ScanParams(), FeeSchedule())
    assert result.skipped_duplicate == 1 and result.books_used == 2
    [o] = result.opportunities
    assert o.sell_vwap == 101.0  # the newer binance book


def test_opportunities_come_best_net_edge_first() -> None:
    books = [*pair("BTC-USDT", bid=101.0), *pair("ETH-USDT", bid=102.0), *pair("SOL-USDT", bid=100.6)]
    result = scan_books(books, NOW, ScanParams(), FeeSchedule())
    assert [o.symbol for o in result.opportunities] == ["ETH-USDT", "BTC-USDT", "SOL-USDT"]
    assert all(o.ts_detected == NOW for o in result.opportunities)


def test_an_empty_slice() -> None:
    result = scan_books([], NOW, ScanParams(), FeeSchedule())
    assert (result.opportunities, result.books_total, result.per_exchange) == ([], 0, {})


def test_a_realistic_fair_market_has_nothing_and_planted_mispricings_are_found() -> None:
    from benchmarks.engine import NOW_MS, synthetic_books

    fair = synthetic_books(exchanges=4, symbols=80, levels=5, spatial_plants=0, triangular_plants=0)
    assert scan_books(fair, NOW_MS, ScanParams(), FeeSchedule()).opportunities == []

    # A0000 priced high on binance in all its markets; A0003-BTC cheap on okx.
    planted = synthetic_books(exchanges=4, symbols=80, levels=5, spatial_plants=1, triangular_plants=1)
    found = scan_books(planted, NOW_MS, ScanParams(), FeeSchedule()).opportunities
    spatial = {(o.symbol.split("-")[0], o.buy_exchange, o.sell_exchange) for o in found if o.type == "spatial"}
    pricey = {(base, buy) for base, buy, sell in spatial if base == "A0000" and sell == "binance"}
    cheap = {(base, sell) for base, buy, sell in spatial if base == "A0003" and buy == "okx"}
    assert len(pricey) == 3 and len(cheap) == 3  # the three other exchanges each time
    assert len(spatial) == 6
    cycles = [o for o in found if o.type == "triangular"]
    assert cycles and {o.exchange for o in cycles} == {"okx"}
    assert all("A0003" in (o.path or []) for o in cycles)
