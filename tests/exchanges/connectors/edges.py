"""Arbitrage arithmetic for the tests, written out plainly and on purpose separate from
both the engine and the simulator: a planted edge is checked by an independent walk."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from kernel.book import OrderBookSnapshot

FEE_BPS = 10.0
SLIPPAGE_BPS = 5.0
NOTIONAL_USDT = 1000.0


def buy_for_notional(asks: Sequence[Sequence[float]], notional: float) -> tuple[float, float]:
    """(vwap, qty) spending `notional` quote units, best ask first."""
    remaining, cost, qty = notional, 0.0, 0.0
    for price, size in asks:
        level_cost = price * size
        if level_cost >= remaining:
            qty += remaining / price
            cost += remaining
            return cost / qty, qty
        qty += size
        cost += level_cost
        remaining -= level_cost
    raise AssertionError("book too thin for the notional")


def sell_qty(bids: Sequence[Sequence[float]], qty: float) -> float:
    """VWAP selling `qty`, best bid first."""
    remaining, proceeds = qty, 0.0
    for price, size in bids:
        take = min(size, remaining)
        proceeds += take * price
        remaining -= take
        if remaining <= qty * 1e-12:
            return proceeds / qty
    raise AssertionError("book too thin for the quantity")


def quote_usdt(books: Iterable[OrderBookSnapshot], quote: str) -> float:
    """USDT value of one unit of `quote`: the median mid of its QUOTE-USDT books."""
    if quote == "USDT":
        return 1.0
    mids = sorted((b.bids[0][0] + b.asks[0][0]) / 2 for b in books if b.symbol == f"{quote}-USDT")
    assert mids, f"no {quote}-USDT book to size the trade"
    return mids[len(mids) // 2]


def spatial_net_pct(buy: OrderBookSnapshot, sell: OrderBookSnapshot, notional_quote: float) -> float:
    buy_vwap, qty = buy_for_notional(buy.asks, notional_quote)
    sell_vwap = sell_qty(sell.bids, qty)
    gross = (sell_vwap - buy_vwap) / buy_vwap * 100
    return gross - 2 * FEE_BPS / 100 - SLIPPAGE_BPS / 100


def best_spatial_net_pct(books: Sequence[OrderBookSnapshot]) -> tuple[float, str]:
    """The highest net edge over every symbol and ordered pair of venues."""
    by_symbol: dict[str, list[OrderBookSnapshot]] = {}
    for book in books:
        by_symbol.setdefault(book.symbol, []).append(book)
    best, where = -100.0, ""
    for symbol, venues in by_symbol.items():
        quote = symbol.split("-")[1]
        if quote != "USDT" and f"{quote}-USDT" not in by_symbol:
            continue
        notional = NOTIONAL_USDT / quote_usdt(books, quote)
        for a in venues:
            for b in venues:
                if a is not b:
                    net = spatial_net_pct(a, b, notional)
                    if net > best:
                        best, where = net, f"{symbol} buy {a.exchange} sell {b.exchange}"
    return best, where


def triangle_net_pct(books: dict[str, OrderBookSnapshot], path: Sequence[str]) -> float:
    """Walk USDT -> A -> B -> USDT on one venue's books (keyed by symbol)."""
    fee = FEE_BPS / 1e4
    amount = NOTIONAL_USDT
    for src, dst in itertools.pairwise(path):
        if f"{dst}-{src}" in books:  # buy dst with src
            _, qty = buy_for_notional(books[f"{dst}-{src}"].asks, amount)
            amount = qty * (1 - fee)
        else:  # sell src for dst
            book = books[f"{src}-{dst}"]
            amount = amount * sell_qty(book.bids, amount) * (1 - fee)
    return (amount / NOTIONAL_USDT - 1) * 100 - SLIPPAGE_BPS / 100
