"""Planted arbitrage: what a plant is, and how big a shift of one book makes it real.

A plant shifts every price of one book (one venue, one symbol) by a factor. The factor is
recalibrated on each tick's fresh books by walking the ladders the way a scanner would
(VWAP for the target notional, taker fees, slippage), so the planted edge nets what it
promised while the fair price keeps moving. The walk is deliberately local: the market
must not depend on the scanner it is there to exercise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from kernel.book import Level, OrderBookSnapshot

Side = Literal["buy", "sell"]


@dataclass(frozen=True, slots=True)
class PlantedEdge:
    """One planted opportunity: `exchange`'s `symbol` book is shifted until `expires_ms`.

    Spatial: `exchange` is dislocated on `side` ("buy": it is cheap, buy there; "sell": it
    is rich, sell there). The edge is calibrated against `partner` when one was pinned,
    otherwise against whichever other venue is best on each tick, so no pair ever shows
    more than `net_edge_pct`. Triangular: the cycle `path` (USDT, A, B, USDT) on `exchange`.
    `net_edge_pct` is after taker fees on every leg and slippage, at the market's notional.
    """

    kind: Literal["spatial", "triangular"]
    exchange: str
    symbol: str
    net_edge_pct: float
    started_ms: int
    expires_ms: int
    side: Side | None = None
    partner: str = ""
    path: tuple[str, ...] = ()

    @property
    def buy_exchange(self) -> str:
        """Where to buy; "" means the best other venue."""
        return self.exchange if self.side == "buy" else self.partner

    @property
    def sell_exchange(self) -> str:
        return self.exchange if self.side == "sell" else self.partner


def round_price(price: float) -> float:
    """Seven significant digits: finer than any venue's tick, coarse enough to look real."""
    return round(price, 6 - math.floor(math.log10(price)))


def shift_book(book: OrderBookSnapshot, factor: float) -> OrderBookSnapshot:
    return replace(
        book,
        bids=_shift_levels(book.bids, factor, descending=True),
        asks=_shift_levels(book.asks, factor, descending=False),
    )


def _shift_levels(levels: list[Level], factor: float, descending: bool) -> list[Level]:
    shifted: list[Level] = []
    for price, qty in levels:
        new = round_price(price * factor)
        # Rounding must never merge two levels: parse_book rejects a non-strict ladder.
        if shifted and (new >= shifted[-1][0] if descending else new <= shifted[-1][0]):
            continue
        shifted.append([new, qty])
    return shifted


def qty_for_notional(asks: list[Level], notional: float) -> tuple[float, float] | None:
    """(vwap, qty) spending exactly `notional` quote units; None when the book is too thin."""
    spent = qty = 0.0
    for price, size in asks:
        take = min(size, (notional - spent) / price)
        spent += take * price
        qty += take
        if spent >= notional * (1 - 1e-12):
            return spent / qty, qty
    return None


def vwap_for_qty(bids: list[Level], qty: float) -> float | None:
    """VWAP selling `qty`; None when the book cannot absorb it."""
    filled = proceeds = 0.0
    for price, size in bids:
        take = min(size, qty - filled)
        filled += take
        proceeds += take * price
        if filled >= qty * (1 - 1e-12):
            return proceeds / filled
    return None


def spatial_ratio(buy: OrderBookSnapshot, sell: OrderBookSnapshot, notional: float) -> float | None:
    """sell_vwap / buy_vwap for `notional` quote units bought on `buy` and sold on `sell`."""
    bought = qty_for_notional(buy.asks, notional)
    if bought is None:
        return None
    buy_vwap, qty = bought
    sell_vwap = vwap_for_qty(sell.bids, qty)
    return None if sell_vwap is None else sell_vwap / buy_vwap


def cycle_ratio(legs: Sequence[tuple[OrderBookSnapshot, Side]], notional: float, fee: float) -> float | None:
    """What 1 unit of the start asset becomes after the legs, each paying `fee` (fraction)."""
    amount = notional
    for book, side in legs:
        if side == "buy":  # spend quote, receive base
            bought = qty_for_notional(book.asks, amount)
            if bought is None:
                return None
            amount = bought[1] * (1 - fee)
        else:  # spend base, receive quote
            vwap = vwap_for_qty(book.bids, amount)
            if vwap is None:
                return None
            amount = amount * vwap * (1 - fee)
    return amount / notional


def cycle_legs(path: Sequence[str], symbols: Sequence[str] | set[str]) -> list[tuple[str, Side]] | None:
    """The (symbol, side) of each hop of `path`, or None when a hop has no market."""
    legs: list[tuple[str, Side]] = []
    for src, dst in itertools.pairwise(path):
        if f"{dst}-{src}" in symbols:
            legs.append((f"{dst}-{src}", "buy"))
        elif f"{src}-{dst}" in symbols:
            legs.append((f"{src}-{dst}", "sell"))
        else:
            return None
    return legs


def calibrate(ratio_at: Callable[[float], float | None], target: float, exponent: Literal[1, -1]) -> float | None:
    """The factor at which `ratio_at(factor)` equals `target`.

    The ratio is close to proportional to factor**exponent (a shift scales one ladder's
    VWAP); only the depth walked changes with the shift, so a few fixed-point steps
    converge far below a basis point.
    """
    factor = 1.0
    for _ in range(4):
        ratio = ratio_at(factor)
        if ratio is None:
            return None
        factor *= (target / ratio) ** exponent
    return factor
