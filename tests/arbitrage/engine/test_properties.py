"""Spatial properties over random books: the formulas hold, pruning loses nothing, fees only hurt."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbitrage.engine.scan import scan_books
from arbitrage.engine.transfer import transfer_route
from arbitrage.engine.types import FeeSchedule, Network, Opportunity, ScanParams
from arbitrage.engine.vwap import spend_notional, take_qty
from tests.arbitrage.engine.factories import NOW, book

EXCHANGES = ("binance", "okx", "kraken", "gate")
NETWORKS = st.builds(
    Network.of,
    st.sampled_from(["BTC", "BEP20", "LIGHTNING"]),
    st.sampled_from([0.0, 0.0001, 0.001, 0.05]),
    st.booleans(),
    st.booleans(),
    st.sampled_from([None, None, "0xa", "0xb"]),
)
EVERYTHING = ScanParams(min_net_edge_pct=-1_000)  # every pair that can fill is reported


@st.composite
def markets(draw: st.DrawFn) -> tuple[list, FeeSchedule]:
    exchanges = EXCHANGES[: draw(st.integers(min_value=2, max_value=4))]
    books = []
    for exchange in exchanges:
        mid = 100 * draw(st.floats(min_value=0.97, max_value=1.03))
        half = mid * draw(st.sampled_from([1, 5, 30])) / 20_000
        count = draw(st.integers(min_value=1, max_value=4))
        sizes = [draw(st.floats(min_value=2, max_value=30)) for _ in range(2 * count)]
        bids = [[mid - half - i * 0.05, sizes[i]] for i in range(count)]
        asks = [[mid + half + i * 0.05, sizes[count + i]] for i in range(count)]
        books.append(book(exchange, "BTC-USDT", bids=bids, asks=asks))
    taker = {e: draw(st.sampled_from([0.0, 2.5, 7.5, 10.0, 12.5, 26.0])) for e in exchanges}
    withdraw = {e: {"BTC": fee} for e in exchanges if (fee := draw(st.sampled_from([None, 0.0, 0.001, 0.05])))}
    # Some exchanges list their networks: the route, so the withdrawal cost, then depends on the pair.
    networks = {}
    for exchange in exchanges:
        listed = draw(st.lists(NETWORKS, max_size=3))
        if listed:
            networks[exchange] = {"BTC": tuple(listed)}
    return books, FeeSchedule(taker_fee_bps=taker, withdraw_fees=withdraw, networks=networks)


def found(books: list, params: ScanParams, fees: FeeSchedule) -> dict[tuple[str, str], Opportunity]:
    return {(o.buy_exchange, o.sell_exchange): o for o in scan_books(books, NOW, params, fees).opportunities}


def brute_force(books: list, params: ScanParams, fees: FeeSchedule, slack: float) -> set[tuple[str, str]]:
    """Every ordered pair worked out with the design's formulas, no pruning."""
    valid = set()
    for buyer, seller in itertools.permutations(books, 2):
        bought = spend_notional(buyer.asks, params.target_notional_usdt)
        if bought is None:
            continue
        buy_vwap, qty = bought
        sell_vwap = take_qty(seller.bids, qty)
        if sell_vwap is None:
            continue
        gross = (sell_vwap - buy_vwap) / buy_vwap * 100
        fees_pct = (fees.taker_bps(buyer.exchange) + fees.taker_bps(seller.exchange)) / 100
        route_fee = transfer_route(fees, buyer.exchange, seller.exchange, "BTC").withdraw_fee
        withdraw = route_fee * buy_vwap / (buy_vwap * qty) * 100
        if gross - fees_pct - params.slippage_bps / 100 - withdraw >= params.min_net_edge_pct + slack:
            valid.add((buyer.exchange, seller.exchange))
    return valid


@settings(max_examples=150, deadline=None)
@given(market=markets(), min_net=st.sampled_from([-1.0, 0.0, 0.1, 0.5, 1.5]))
def test_pruning_loses_no_pair_the_formulas_accept(market: tuple, min_net: float) -> None:
    books, fees = market
    params = ScanParams(min_net_edge_pct=min_net)
    reported = set(found(books, params, fees))
    assert brute_force(books, params, fees, 1e-9) <= reported <= brute_force(books, params, fees, -1e-9)


@settings(max_examples=150, deadline=None)
@given(market=markets())
def test_net_is_gross_less_every_cost_and_optimal_beats_target(market: tuple) -> None:
    books, fees = market
    for o in found(books, EVERYTHING, fees).values():
        assert o.net_edge_pct == pytest.approx(o.gross_edge_pct - o.fees_pct - o.slippage_pct - o.withdraw_pct)
        assert o.expected_profit_usdt == pytest.approx(o.net_edge_pct / 100 * o.buy_vwap * o.available_qty)
        assert o.optimal_profit_usdt >= o.expected_profit_usdt - 1e-9
        assert o.buy_vwap >= next(b for b in books if b.exchange == o.buy_exchange).asks[0][0]


@settings(max_examples=150, deadline=None)
@given(
    market=markets(),
    which=st.sampled_from(EXCHANGES),
    kind=st.sampled_from(["taker", "withdraw"]),
    more=st.floats(min_value=0.01, max_value=50),
)
def test_raising_any_fee_never_raises_a_net_edge(market: tuple, which: str, kind: str, more: float) -> None:
    books, fees = market
    if kind == "taker":
        raised = dataclasses.replace(fees, taker_fee_bps={**fees.taker_fee_bps, which: fees.taker_bps(which) + more})
    else:
        withdraw = {e: dict(a) for e, a in fees.withdraw_fees.items()}
        withdraw.setdefault(which, {})["BTC"] = (fees.withdraw_fee(which, "BTC") or 0.0) + more / 1000
        raised = dataclasses.replace(fees, withdraw_fees=withdraw)
    before = found(books, EVERYTHING, fees)
    after = found(books, EVERYTHING, raised)
    assert set(before) == set(after)
    for key, o in after.items():
        assert o.net_edge_pct <= before[key].net_edge_pct + 1e-12
