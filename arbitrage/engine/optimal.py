"""The profit-maximising size of a trade (docs/design.md, "The engine: Optimal size").

A fixed target size can miss a profitable smaller trade and understate a larger one, so
besides the target-size figures every opportunity reports the size that earns the most.
Both searches below are exact, not sampled: the profit's maximum can only be at a level
boundary of one of the books, and they walk the books' ladders together to find it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from arbitrage.engine.vwap import side_totals, spend_notional, take_qty
from kernel.book import Level

# A size computed through a few float operations may land a hair past what a book holds;
# it is then walked this hair inside it instead of being lost.
_INSIDE = 1.0 - 1e-12


def spatial_optimum(
    asks: Sequence[Level], bids: Sequence[Level], cost_rate: float, withdraw_fee: float
) -> tuple[float, float]:
    """(qty, profit in quote units) maximising buy-on-`asks`, sell-on-`bids` profit.

    `cost_rate` = (fees_pct + slippage_pct) / 100, charged on the buy notional;
    `withdraw_fee` is in base units and valued at the buy VWAP, as the target-size
    figures are. Both sides must have levels. (0, 0) when no size earns anything.

    Why the level boundaries are enough. With B(q) the cost of buying q on the asks and
    S(q) the proceeds of selling q on the bids, the profit is
        P(q) = S(q) - (1 + c) B(q) - w B(q) / q        (B(q)/q is the buy VWAP).
    Between two consecutive boundaries of either ladder both are affine:
    B(q) = b0 + a q, S(q) = s0 + b q, with a the current ask price and
    b0 = B(q_j) - a q_j = sum over the levels already used of (p_i - a) size_i <= 0,
    since asks ascend. Substituting,
        P(q) = [s0 - (1 + c) b0 - w a] + [b - (1 + c) a] q + w |b0| / q,
    an affine part plus w |b0| / q, which is convex for q > 0 (w >= 0). A convex function
    on an interval is largest at an end of it, so the maximum over (0, q_max] is at a
    boundary of one of the ladders, or at q_max (where the shallower side runs out, also
    a boundary). Walking both ladders together visits each of them once, and stops early:
    within a segment dP/dq = b - (1 + c) a - w |b0| / q^2 <= b - (1 + c) a, and that
    marginal only falls from segment to segment (bids descend, asks ascend), so once it is
    <= 0 the profit can only fall from there on.
    """
    if not asks or not bids:
        raise ValueError("spatial_optimum needs levels on both sides")
    one_plus_c = 1.0 + cost_rate
    i = j = 0
    ask_price, ask_left = asks[0]
    bid_price, bid_left = bids[0]
    qty = cost = proceeds = 0.0
    best = (0.0, 0.0)  # not trading: what any size must beat
    while bid_price - one_plus_c * ask_price > 0.0:
        step = ask_left if ask_left < bid_left else bid_left
        qty += step
        cost += ask_price * step
        proceeds += bid_price * step
        profit = proceeds - one_plus_c * cost - withdraw_fee * cost / qty
        if profit > best[1]:
            best = (qty, profit)
        ask_left -= step
        bid_left -= step
        if ask_left <= 0.0:
            i += 1
            if i == len(asks):
                break
            ask_price, ask_left = asks[i]
        if bid_left <= 0.0:
            j += 1
            if j == len(bids):
                break
            bid_price, bid_left = bids[j]
    return best


@dataclass(frozen=True, slots=True)
class Leg:
    """One conversion of a cycle: buy BASE with QUOTE on the asks, or sell BASE on the bids."""

    levels: Sequence[Level]
    is_buy: bool
    keep: float  # 1 - taker fee: the share of the proceeds the trader keeps

    def forward(self, amount: float) -> tuple[float, float] | None:
        """(VWAP, amount received after the fee) for spending `amount` of the source
        asset; None when the side cannot take that much."""
        if self.is_buy:
            filled = spend_notional(self.levels, amount)
            if filled is None:
                return None
            return filled[0], filled[1] * self.keep
        vwap = take_qty(self.levels, amount)
        if vwap is None:
            return None
        return vwap, vwap * amount * self.keep

    def backward(self, received: float) -> float | None:
        """The source amount that yields `received` after the fee (forward's inverse)."""
        gross = received / self.keep
        if self.is_buy:
            vwap = take_qty(self.levels, gross)
            return None if vwap is None else vwap * gross
        filled = spend_notional(self.levels, gross)
        return None if filled is None else filled[1]

    def capacity(self, level: int) -> float:
        """How much of the source asset level `level` takes."""
        price, size = self.levels[level]
        return price * size if self.is_buy else size

    def rate(self, level: int) -> float:
        """Target units per source unit at level `level`, after the fee."""
        price = self.levels[level][0]
        return self.keep / price if self.is_buy else price * self.keep

    def depth(self) -> float:
        """All the source asset the side can take: its visible depth."""
        qty, notional = side_totals(self.levels)
        return notional if self.is_buy else qty


def walk_legs(legs: Sequence[Leg], amount: float) -> tuple[list[float], list[float]] | None:
    """Walk the legs in order, each spending what the previous one produced.

    Returns (amounts, prices): amounts[0] is `amount`, amounts[i + 1] what leg i produced;
    prices[i] is leg i's VWAP. None when a leg cannot take what it is given.
    """
    amounts = [amount]
    prices = []
    for leg in legs:
        step = leg.forward(amounts[-1])
        if step is None:
            return None
        prices.append(step[0])
        amounts.append(step[1])
    return amounts, prices


def _pull_back(legs: Sequence[Leg], upto: int, amount: float) -> float | None:
    """The start amount at which leg `upto` is given `amount` (None if unreachable)."""
    for leg in reversed(legs[:upto]):
        back = leg.backward(amount)
        if back is None:
            return None
        amount = back
    return amount


def max_start_amount(legs: Sequence[Leg], depths: Sequence[float] | None = None) -> float | None:
    """The largest start amount every leg can take: the size the thinnest leg allows.

    `depths`: each leg's `depth()`, when the caller has them already.
    """
    depths = depths or [leg.depth() for leg in legs]
    limits = [_pull_back(legs, i, depth) for i, (leg, depth) in enumerate(zip(legs, depths, strict=True)) if leg.levels]
    if len(limits) < len(legs):
        return None
    reachable = [limit for limit in limits if limit is not None]
    return min(reachable) if reachable else None


def cycle_optimum(legs: Sequence[Leg], slippage_rate: float) -> tuple[float, float] | None:
    """(start amount, profit in start units) maximising out(x) - (1 + slippage_rate) x,
    where out(x) is what walking the legs with a start amount x yields; (0, 0) when no
    size earns anything; None when a leg has no levels.

    Why this is exact. Each leg's output is a concave, increasing, piecewise-linear
    function of its input: buying on ascending asks gets less base per quote unit as the
    spend grows, selling on descending bids gets less quote per unit, and between two
    level boundaries the rate is that level's. A composition of concave increasing
    functions is concave and increasing, so out(x) is concave and piecewise linear, and
    so is the profit. Its slope at x is the product of the legs' current level rates
    (chain rule) minus (1 + slippage_rate), and only falls as x grows. The sweep below
    walks all ladders together, from one boundary (of any leg) to the next, while that
    slope is positive: where it stops (a slope turning non-positive, or a ladder running
    out) is the maximum. Each level of each leg is visited at most once.
    """
    if not legs or not all(leg.levels for leg in legs):
        return None
    hurdle = 1.0 + slippage_rate
    count = len(legs)
    level = [0] * count
    capacity = [leg.capacity(0) for leg in legs]
    rate = [leg.rate(0) for leg in legs]
    left = capacity[:]
    # per_start[i]: units of leg i's source asset one more start unit brings to it.
    per_start = [1.0] * count
    start = 0.0
    while True:
        slope = 1.0
        step = math.inf
        for i in range(count):
            per_start[i] = slope
            reach = left[i] / slope  # start units until leg i's current level runs out
            if reach < step:
                step = reach
            slope *= rate[i]
        if slope <= hurdle:
            break
        start += step
        ran_out = False
        for i in range(count):
            left[i] -= per_start[i] * step
            if left[i] <= capacity[i] * 1e-12:
                level[i] += 1
                leg = legs[i]
                if level[i] == len(leg.levels):
                    ran_out = True
                    continue
                capacity[i] = left[i] = leg.capacity(level[i])
                rate[i] = leg.rate(level[i])
        if ran_out:
            break
    if start <= 0.0:
        return 0.0, 0.0
    # The figures reported are those of an ordinary walk at that size, not the sweep's sums.
    walked = walk_legs(legs, start) or walk_legs(legs, start * _INSIDE)
    if walked is None:
        return None
    profit = walked[0][-1] - hurdle * walked[0][0]
    return (walked[0][0], profit) if profit > 0.0 else (0.0, 0.0)
