"""Engine benchmark: spatial, triangular and the whole `scan_books` over synthetic books.

The market: every exchange lists the same symbols (ALT-USDT for every asset, then ALT-BTC,
ALT-ETH and ALT-USDC until the count is reached: 500 symbols are 150 assets), prices a
couple of bps around one fair price per asset, spreads of 1-5 bps, 20 levels a side worth
a few thousand USDT each, so the target notional takes one or two levels. A few spatial
and triangular mispricings are planted (see `synthetic_books`), a few books are stale or
unhealthy, as in a real slice.

Triangular rows count what they report: opportunities (one per cause since issue #14) and
the sum of their `variants` (every profitable cycle, each counted once in its group). The
"one mispriced market per exchange" rows plant one ALT-BTC book 0.6 % low on every
exchange with a 10 bps taker fee everywhere (3 legs x 10 bps + 5 bps slippage clear it):
each exchange must report exactly one opportunity, its cycles counted in `variants`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import replace

from arbitrage.engine.scan import UsdtMids, scan_books
from arbitrage.engine.spatial import find_spatial
from arbitrage.engine.triangular import find_triangular
from arbitrage.engine.types import FeeSchedule, Opportunity, ScanParams
from benchmarks import Row, measure
from kernel.book import OrderBookSnapshot

NOW_MS = 1_750_000_000_000
EXCHANGES = (
    "binance",
    "okx",
    "bybit",
    "coinbase",
    "kraken",
    "kucoin",
    "gate",
    "htx",
    "bitget",
    "mexc",
    "bitfinex",
    "bitstamp",
    "gemini",
    "cryptocom",
)
MAJORS = {"USDT": 1.0, "BTC": 60_000.0, "ETH": 3_000.0, "USDC": 1.0}


def symbol_universe(count: int) -> tuple[list[str], dict[str, float]]:
    """`count` symbols and the fair USDT price of every asset they mention."""
    rng = random.Random(count)
    alts = max(1, round(count / 3.33))
    prices = dict(MAJORS)
    for i in range(alts):
        prices[f"A{i:04d}"] = math.exp(rng.uniform(math.log(0.001), math.log(500.0)))
    names = [f"A{i:04d}" for i in range(alts)]
    symbols = ["BTC-USDT", "ETH-USDT", "USDC-USDT", "ETH-BTC", "BTC-USDC", "ETH-USDC"]
    for quote in ("USDT", "BTC", "ETH", "USDC"):
        symbols += [f"{name}-{quote}" for name in names]
    return symbols[:count], prices


def _side(rng: random.Random, best: float, step: float, levels: int, fair_usdt: float) -> list[list[float]]:
    side = []
    price = best
    for _ in range(levels):
        notional_usdt = rng.uniform(800.0, 6000.0)
        side.append([price, notional_usdt / fair_usdt])
        price += step
    return side


def synthetic_books(
    exchanges: int = 14,
    symbols: int = 500,
    levels: int = 20,
    seed: int = 1,
    spatial_plants: int = 5,
    triangular_plants: int = 2,
) -> list[OrderBookSnapshot]:
    """Books of a fair market with a few planted opportunities.

    A spatial plant prices one asset 0.6 % high on one exchange in all its markets (no
    cycle inside that exchange); a triangular plant prices one ALT-BTC market 0.6 % low
    on one exchange, which opens a 3-leg cycle and 4-leg ones through each asset also
    quoted in the USDC, ETH and BTC markets around it.
    """
    rng = random.Random(seed)
    names, fair = symbol_universe(symbols)
    alts = sorted(asset for asset in fair if asset not in MAJORS)
    ids = list(EXCHANGES[:exchanges]) + [f"ex{i:02d}" for i in range(len(EXCHANGES), exchanges)]
    pricey = {(ids[k % exchanges], alts[(7 * k) % len(alts)]) for k in range(spatial_plants)}
    # Other assets and exchanges than the spatial plants', so the two never cancel out.
    crosses = [symbol for symbol in names if symbol.endswith("-BTC") and symbol != "ETH-BTC"]
    cheap = {(ids[(5 * k + 1) % exchanges], crosses[(11 * k + 3) % len(crosses)]) for k in range(triangular_plants)}
    books = []
    for exchange in ids:
        skew = {asset: 1.0 + rng.gauss(0.0, 2e-4) for asset in fair}
        for asset in fair:
            if (exchange, asset) in pricey:
                skew[asset] *= 1.006
        for symbol in names:
            base, quote = symbol.split("-")
            mid = fair[base] * skew[base] / (fair[quote] * skew[quote])
            if (exchange, symbol) in cheap:
                mid *= 0.994
            half_spread = mid * rng.uniform(0.5e-4, 2.5e-4)
            tick = mid * 1e-4
            lag = rng.randint(5, 300)
            age = 20_000 if rng.random() < 0.002 else rng.randint(0, 3000)
            books.append(
                OrderBookSnapshot(
                    exchange=exchange,
                    symbol=symbol,
                    bids=_side(rng, mid - half_spread, -tick, levels, fair[base]),
                    asks=_side(rng, mid + half_spread, tick, levels, fair[base]),
                    ts_event=NOW_MS - age - lag,
                    ts_ingest=NOW_MS - age,
                    is_healthy=rng.random() > 0.002,
                    meta={"seq_id": rng.randint(1, 10**9), "checksum_ok": True},
                )
            )
    return books


def _grouped(books: Sequence[OrderBookSnapshot]) -> tuple[dict[str, list[OrderBookSnapshot]], ...]:
    by_symbol: dict[str, list[OrderBookSnapshot]] = {}
    by_exchange: dict[str, list[OrderBookSnapshot]] = {}
    for book in books:
        by_symbol.setdefault(book.symbol, []).append(book)
        by_exchange.setdefault(book.exchange, []).append(book)
    return by_symbol, by_exchange


def run(repeat: int) -> list[Row]:
    rows = []
    for symbols in (100, 500, 1000, 2000):
        rows += _rows_for(symbols, repeat)
    # Stress: a mispriced cross market on every exchange, hundreds of cycles to report.
    rows += _rows_for(500, repeat, triangular_plants=14, label=", 14 mispriced")
    rows += _one_per_exchange(500, repeat)
    rows.append(_fair_triangular(500, repeat))
    return rows


def triangular_counts(opportunities: Sequence[Opportunity], exchanges: int) -> str:
    """What a triangular run reported: opportunities, on how many exchanges and at most how
    many on one, and the cycles behind them (the sum of `variants`)."""
    per_exchange: dict[str, int] = {}
    variants = 0
    for opportunity in opportunities:
        if opportunity.type != "triangular":
            continue
        per_exchange[opportunity.buy_exchange] = per_exchange.get(opportunity.buy_exchange, 0) + 1
        variants += opportunity.variants or 1
    found = sum(per_exchange.values())
    most = max(per_exchange.values(), default=0)
    return f"{found} triangular on {len(per_exchange)}/{exchanges} exchanges (max {most} on one), {variants} variants"


def _one_per_exchange(symbols: int, repeat: int) -> list[Row]:
    """Issue #14: one mispriced cross market on every exchange, one opportunity each."""
    params, fees = ScanParams(), FeeSchedule()  # 10 bps everywhere: every plant clears the fees
    # Plant k lands on exchange (5k + 1) mod 14: 14 plants, one on each exchange.
    books = synthetic_books(symbols=symbols, triangular_plants=len(EXCHANGES))
    by_symbol, by_exchange = _grouped(books)
    size = f"14 x {symbols} x 20, one mispriced market per exchange"
    counts = triangular_counts(
        find_triangular(by_exchange, UsdtMids(by_symbol), params, fees, NOW_MS), len(by_exchange)
    )
    triangular = measure(
        "engine",
        f"triangular {size}",
        lambda: find_triangular(by_exchange, UsdtMids(by_symbol), params, fees, NOW_MS),
        repeat,
    )
    found = scan_books(books, NOW_MS, params, fees).opportunities
    spatial_found = sum(1 for opportunity in found if opportunity.type == "spatial")
    total = measure(
        "engine",
        f"scan_books {size}",
        lambda: scan_books(books, NOW_MS, params, fees),
        repeat,
        f"{len(books)} books; found {spatial_found} spatial and {triangular_counts(found, len(by_exchange))}",
    )
    per_exchange = f"{triangular.median_ms / len(by_exchange):.3f} ms per exchange; {counts}"
    return [replace(triangular, note=per_exchange), total]


def _fair_triangular(symbols: int, repeat: int) -> Row:
    """The usual case: no cycle anywhere, so no VWAP, no Bellman-Ford pass, no search."""
    books = synthetic_books(symbols=symbols, spatial_plants=0, triangular_plants=0)
    by_symbol, by_exchange = _grouped(books)
    params, fees = ScanParams(), FeeSchedule()
    row = measure(
        "engine",
        f"triangular 14 x {symbols} x 20, fair market",
        lambda: find_triangular(by_exchange, UsdtMids(by_symbol), params, fees, NOW_MS),
        repeat,
    )
    return replace(row, note=f"{row.median_ms / len(by_exchange):.3f} ms per exchange")


def _rows_for(symbols: int, repeat: int, triangular_plants: int = 2, label: str = "") -> list[Row]:
    params = ScanParams()
    fees = FeeSchedule(taker_fee_bps={"binance": 7.5, "okx": 8.0, "kraken": 26.0})
    books = synthetic_books(symbols=symbols, triangular_plants=triangular_plants)
    by_symbol, by_exchange = _grouped(books)
    size = f"14 x {symbols} x 20{label}"
    spatial = measure(
        "engine",
        f"spatial {size}",
        lambda: find_spatial(by_symbol, UsdtMids(by_symbol), params, fees, NOW_MS),
        repeat,
    )
    triangular = measure(
        "engine",
        f"triangular {size}",
        lambda: find_triangular(by_exchange, UsdtMids(by_symbol), params, fees, NOW_MS),
        repeat,
    )
    found = scan_books(books, NOW_MS, params, fees).opportunities
    spatial_found = sum(1 for opportunity in found if opportunity.type == "spatial")
    total = measure(
        "engine",
        f"scan_books {size}",
        lambda: scan_books(books, NOW_MS, params, fees),
        repeat,
        f"{len(books)} books; found {spatial_found} spatial and {triangular_counts(found, len(by_exchange))}",
    )
    counts = triangular_counts(
        find_triangular(by_exchange, UsdtMids(by_symbol), params, fees, NOW_MS), len(by_exchange)
    )
    per_exchange = f"{triangular.median_ms / len(by_exchange):.3f} ms per exchange; {counts}"
    return [spatial, replace(triangular, note=per_exchange), total]
