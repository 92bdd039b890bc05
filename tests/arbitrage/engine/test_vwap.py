from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbitrage.engine.vwap import qty_for_notional, side_totals, spend_notional, take_qty, vwap_for_qty

ASKS = [[100.0, 2.0], [101.0, 3.0], [103.0, 5.0]]
BIDS = [[99.0, 2.0], [98.0, 3.0], [96.0, 5.0]]


def test_vwap_within_the_best_level_is_its_price() -> None:
    assert vwap_for_qty(BIDS, 1.5) == (99.0, 1.5)


def test_vwap_takes_only_the_needed_part_of_the_boundary_level() -> None:
    # 2 @ 99 + 3 @ 98 + 1 of the 5 @ 96
    vwap, filled = vwap_for_qty(BIDS, 6.0)
    assert filled == 6.0
    assert vwap == pytest.approx((2 * 99 + 3 * 98 + 1 * 96) / 6)


def test_vwap_of_a_book_too_thin_reports_what_it_could_fill() -> None:
    vwap, filled = vwap_for_qty(BIDS, 11.0)
    assert filled == 10.0
    assert vwap == pytest.approx((2 * 99 + 3 * 98 + 5 * 96) / 10)
    assert take_qty(BIDS, 11.0) is None


def test_vwap_of_an_empty_side_or_nothing() -> None:
    assert vwap_for_qty([], 1.0) == (0.0, 0.0)
    assert vwap_for_qty(BIDS, 0.0) == (0.0, 0.0)


def test_qty_for_notional_spends_exactly_the_notional() -> None:
    # 200 @ 100 buys 2, 303 @ 101 buys 3, the last 97 buys 97/103 at 103.
    vwap, qty = qty_for_notional(ASKS, 600.0)
    assert qty == pytest.approx(2 + 3 + 97 / 103)
    assert vwap == pytest.approx(600.0 / (2 + 3 + 97 / 103))
    assert spend_notional(ASKS, 600.0) == (vwap, qty)


def test_qty_for_notional_within_the_best_level() -> None:
    assert qty_for_notional(ASKS, 150.0) == (100.0, 1.5)


def test_qty_for_notional_on_a_book_too_thin() -> None:
    whole = 200.0 + 303.0 + 515.0
    vwap, qty = qty_for_notional(ASKS, whole + 1)
    assert qty == 10.0
    assert vwap * qty == pytest.approx(whole)
    assert spend_notional(ASKS, whole + 1) is None
    assert spend_notional(ASKS, whole) is not None


def test_side_totals() -> None:
    assert side_totals(ASKS) == (10.0, 200.0 + 303.0 + 515.0)


prices = st.floats(min_value=0.01, max_value=1e5, allow_nan=False)
sizes = st.floats(min_value=1e-6, max_value=1e4, allow_nan=False)


@st.composite
def sides(draw: st.DrawFn, descending: bool) -> list[list[float]]:
    levels = draw(st.lists(st.tuples(prices, sizes), min_size=1, max_size=8, unique_by=lambda lv: lv[0]))
    levels.sort(reverse=descending)
    return [[price, size] for price, size in levels]


@settings(max_examples=150, deadline=None)
@given(side=sides(descending=True), qty=sizes)
def test_vwap_lies_between_the_best_and_worst_level_used(side: list[list[float]], qty: float) -> None:
    vwap, filled = vwap_for_qty(side, qty)
    total = sum(size for _, size in side)
    assert filled <= total * (1 + 1e-12)
    assert filled <= qty
    used = []
    remaining = qty
    for price, size in side:
        used.append(price)
        remaining -= size
        if remaining <= 0:
            break
    assert min(used) * (1 - 1e-12) <= vwap <= max(used) * (1 + 1e-12)


@settings(max_examples=150, deadline=None)
@given(side=sides(descending=False), notional=st.floats(min_value=1e-3, max_value=1e7))
def test_notional_walk_spends_the_notional_or_reports_a_thin_book(side: list[list[float]], notional: float) -> None:
    depth_qty, depth_notional = side_totals(side)
    vwap, qty = qty_for_notional(side, notional)
    assert qty <= depth_qty * (1 + 1e-12)
    assert side[0][0] * (1 - 1e-12) <= vwap <= side[-1][0] * (1 + 1e-12)
    filled = spend_notional(side, notional)
    if filled is None:
        assert notional > depth_notional * (1 - 1e-12)
    else:
        assert vwap * qty == pytest.approx(notional, rel=1e-9)
        # Walking that quantity back costs the same notional.
        assert take_qty(side, qty * (1 - 1e-12)) is not None


@settings(max_examples=100, deadline=None)
@given(side=sides(descending=False), small=sizes, extra=sizes)
def test_a_bigger_size_never_buys_cheaper(side: list[list[float]], small: float, extra: float) -> None:
    smaller = take_qty(side, small)
    bigger = take_qty(side, small + extra)
    if smaller is not None and bigger is not None:
        assert bigger >= smaller * (1 - 1e-12)
