"""The optimal size is exact: no size sampled densely does better, and its profit is real."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from arbitrage.engine.optimal import Leg, cycle_optimum, max_start_amount, spatial_optimum, walk_legs
from arbitrage.engine.vwap import side_totals, take_qty

SAMPLES = 400


@st.composite
def ladder(draw: st.DrawFn, descending: bool, around: float = 100.0) -> list[list[float]]:
    count = draw(st.integers(min_value=1, max_value=5))
    price = around * draw(st.floats(min_value=0.98, max_value=1.02))
    levels = []
    for _ in range(count):
        levels.append([price, draw(st.floats(min_value=0.01, max_value=5.0))])
        step = price * draw(st.floats(min_value=1e-4, max_value=0.01))
        price = price - step if descending else price + step
    return levels


def spatial_profit(asks: list, bids: list, cost_rate: float, withdraw_fee: float, qty: float) -> float:
    """Profit of trading `qty`, straight from the VWAP walks (independent of the sweep)."""
    buy = take_qty(asks, qty)
    sell = take_qty(bids, qty)
    assert buy is not None and sell is not None
    return sell * qty - (1 + cost_rate) * buy * qty - withdraw_fee * buy


@settings(max_examples=150, deadline=None)
@given(
    asks=ladder(descending=False),
    bids=ladder(descending=True),
    cost_rate=st.floats(min_value=0.0, max_value=0.01),
    withdraw_fee=st.floats(min_value=0.0, max_value=0.2),
)
def test_spatial_optimum_beats_every_sampled_size(asks, bids, cost_rate, withdraw_fee) -> None:
    qty, profit = spatial_optimum(asks, bids, cost_rate, withdraw_fee)
    # The shallower side's depth, a hair inside it: a float sum of the sizes may land past it.
    top = min(side_totals(asks)[0], side_totals(bids)[0]) * (1 - 1e-9)
    tolerance = 1e-9 * side_totals(asks)[1]
    sampled = [spatial_profit(asks, bids, cost_rate, withdraw_fee, top * i / SAMPLES) for i in range(1, SAMPLES + 1)]
    assert max(sampled) <= profit + tolerance
    if qty > 0:
        assert 0 < qty <= top * (1 + 1e-8)
        assert abs(spatial_profit(asks, bids, cost_rate, withdraw_fee, min(qty, top)) - profit) <= tolerance * 10
    else:
        assert profit == 0.0 and max(sampled) <= tolerance  # no size earns anything


@st.composite
def cycles(draw: st.DrawFn) -> list[Leg]:
    legs = []
    for _ in range(draw(st.integers(min_value=3, max_value=4))):
        is_buy = draw(st.booleans())
        # Prices near 1 so the cycle's product is near 1: sometimes a profit, sometimes not.
        levels = draw(ladder(descending=not is_buy, around=1.0))
        keep = 1 - draw(st.sampled_from([0.0, 0.00075, 0.001, 0.002]))
        legs.append(Leg([[p, q * 100] for p, q in levels], is_buy, keep))
    return legs


@settings(max_examples=150, deadline=None)
@given(legs=cycles(), slippage=st.sampled_from([0.0, 0.0005, 0.002]))
def test_cycle_optimum_beats_every_sampled_size(legs: list[Leg], slippage: float) -> None:
    limit = max_start_amount(legs)
    assert limit is not None and limit > 0
    assert walk_legs(legs, limit * (1 - 1e-9)) is not None
    assert walk_legs(legs, limit * (1 + 1e-6)) is None  # the thinnest leg's depth, exactly

    def profit(start: float) -> float:
        walked = walk_legs(legs, start)
        assert walked is not None
        return walked[0][-1] - (1 + slippage) * start

    best = cycle_optimum(legs, slippage)
    assert best is not None
    start, gained = best
    tolerance = 1e-9 * limit
    sampled = [profit(limit * (1 - 1e-9) * i / SAMPLES) for i in range(1, SAMPLES + 1)]
    assert max(sampled) <= gained + tolerance
    if start > 0:
        assert abs(profit(start) - gained) <= tolerance
    else:
        assert gained == 0.0 and max(sampled) <= tolerance


def test_cycle_optimum_stops_where_the_marginal_rate_falls_below_the_hurdle() -> None:
    # Buy at 1.0 then 1.02 (2 units each), sell at 1.01 (10 units): only the first level pays.
    legs = [Leg([[1.0, 2.0], [1.02, 2.0]], True, 1.0), Leg([[1.01, 10.0]], False, 1.0)]
    assert cycle_optimum(legs, 0.0) == (2.0, 2.0 * 1.01 - 2.0)
    assert cycle_optimum(legs, 0.02) == (0.0, 0.0)  # 1 % edge < 2 % slippage
