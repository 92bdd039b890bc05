"""Volume-weighted average prices from a book side (docs/design.md, "The engine: VWAP").

A side is a list of `[price, qty]` levels, best first. Walking it takes whole levels until
the boundary level, of which only the part still needed is taken.

Two pairs of functions:
- `take_qty` / `spend_notional` are what the scanners call: they answer None when the
  side cannot fill the size, because the design drops such a signal.
- `vwap_for_qty` / `qty_for_notional` are the design's signatures: on a side too thin for
  the size they return what the whole side gives, so a caller can see how short it is.

A full fill returns the requested size itself (not a float sum that may differ from it in
the last bit), so `filled < qty` is an exact "could not fill" test.
"""

from __future__ import annotations

from collections.abc import Sequence

from kernel.book import Level


def take_qty(levels: Sequence[Level], qty: float) -> float | None:
    """VWAP of taking `qty` base units from `levels`, or None when they hold less."""
    if qty <= 0.0 or not levels:
        return None
    price, size = levels[0]
    if size >= qty:
        # Most target sizes fit in the best level: answer with its price, exactly.
        return price
    cost = price * size
    filled = size
    for price, size in levels[1:]:
        remaining = qty - filled
        if size >= remaining:
            return (cost + price * remaining) / qty
        cost += price * size
        filled += size
    return None


def spend_notional(levels: Sequence[Level], notional: float) -> tuple[float, float] | None:
    """(VWAP, base qty) of spending exactly `notional` quote units on `levels`, or None
    when the whole side is worth less than that."""
    if notional <= 0.0 or not levels:
        return None
    price, size = levels[0]
    cost = price * size
    if cost >= notional:
        return price, notional / price
    spent = cost
    qty = size
    for price, size in levels[1:]:
        cost = price * size
        if spent + cost >= notional:
            qty += (notional - spent) / price
            return notional / qty, qty
        spent += cost
        qty += size
    return None


def side_totals(levels: Sequence[Level]) -> tuple[float, float]:
    """(total qty, total notional) of a side: its visible depth."""
    qty = 0.0
    notional = 0.0
    for price, size in levels:
        qty += size
        notional += price * size
    return qty, notional


def _whole_side(levels: Sequence[Level]) -> tuple[float, float]:
    qty, notional = side_totals(levels)
    return (notional / qty if qty > 0.0 else 0.0), qty


def vwap_for_qty(levels: Sequence[Level], qty: float) -> tuple[float, float]:
    """(vwap, filled_qty) of taking `qty` from `levels`; filled_qty < qty when too thin
    (the vwap is then of the whole side, 0.0 for an empty one)."""
    vwap = take_qty(levels, qty)
    if vwap is not None:
        return vwap, qty
    if qty <= 0.0:
        return 0.0, 0.0
    return _whole_side(levels)


def qty_for_notional(asks: Sequence[Level], notional: float) -> tuple[float, float]:
    """(vwap, qty) of spending `notional` quote units on `asks`; when the side is worth
    less than `notional`, the whole side's (vwap, qty), so vwap * qty < notional."""
    filled = spend_notional(asks, notional)
    if filled is not None:
        return filled
    if notional <= 0.0:
        return 0.0, 0.0
    return _whole_side(asks)
