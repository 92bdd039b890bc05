"""Spatial opportunities, checked against figures worked out by hand (docs/design.md, "The engine: Spatial")."""

from __future__ import annotations

import pytest

from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import FeeSchedule, Opportunity, ScanParams
from tests.arbitrage.engine.factories import NOW, book

PARAMS = ScanParams()  # 1000 USDT, min net 0.1 %, slippage 5 bps


def spatial(books: list, params: ScanParams = PARAMS, fees: FeeSchedule | None = None) -> list[Opportunity]:
    result = scan_books(books, NOW, params, fees or FeeSchedule())
    return [o for o in result.opportunities if o.type == "spatial"]


def by_pair(opportunities: list[Opportunity]) -> dict[tuple[str, str, str], Opportunity]:
    return {(o.symbol, o.buy_exchange, o.sell_exchange): o for o in opportunities}


# Buy 1000 USDT of BTC on binance: 6 @ 100 (600 USDT), then 400 USDT @ 102.
# Sell that quantity on kraken: 5 @ 103, the rest @ 102.5.
BINANCE = book("binance", "BTC-USDT", bids=[[99, 10]], asks=[[100, 6], [102, 10], [105, 100]])
KRAKEN = book("kraken", "BTC-USDT", bids=[[103, 5], [102.5, 10], [100, 100]], asks=[[104, 10]])
WITHDRAW = FeeSchedule(withdraw_fees={"binance": {"BTC": 0.0005}})


def test_worked_example() -> None:
    [o] = spatial([BINANCE, KRAKEN], fees=WITHDRAW)
    qty = 6 + 400 / 102
    buy_vwap = 1000 / qty
    sell_vwap = (5 * 103 + (qty - 5) * 102.5) / qty
    gross = (sell_vwap - buy_vwap) / buy_vwap * 100
    withdraw = 0.0005 * buy_vwap / (buy_vwap * qty) * 100
    net = gross - 0.2 - 0.05 - withdraw
    assert (o.symbol, o.buy_exchange, o.sell_exchange) == ("BTC-USDT", "binance", "kraken")
    assert o.available_qty == pytest.approx(qty)
    assert o.buy_vwap == pytest.approx(buy_vwap)
    assert o.sell_vwap == pytest.approx(sell_vwap)
    assert o.gross_edge_pct == pytest.approx(gross)
    assert o.fees_pct == pytest.approx(0.2)
    assert o.slippage_pct == pytest.approx(0.05)
    assert o.withdraw_pct == pytest.approx(withdraw)
    assert o.net_edge_pct == pytest.approx(net)
    assert o.expected_profit_usdt == pytest.approx(net / 100 * 1000)
    assert o.risk_flag == "ok" and o.risk_flags == []
    assert o.ts_detected == NOW
    assert [e.exchange for e in o.evidence] == ["binance", "kraken"]


def test_optimal_size_walks_both_ladders() -> None:
    # Profit at each boundary (c = 0.25 %, withdrawal 0.0005 BTC at the buy VWAP):
    # q=5: 515 - 1.0025*500 - 0.0005*100     = 13.70
    # q=6: 617.5 - 1.0025*600 - 0.0005*100   = 15.95
    # q=15: 1540 - 1.0025*1518 - 0.0005*101.2 = 18.15  <- best
    # q=16: 1640 - 1.0025*1620 - 0.0005*101.25 = 15.90
    [o] = spatial([BINANCE, KRAKEN], fees=WITHDRAW)
    assert o.optimal_qty == pytest.approx(15)
    assert o.optimal_profit_usdt == pytest.approx(1540 - 1.0025 * 1518 - 0.0005 * 1518 / 15)
    assert o.optimal_profit_usdt > o.expected_profit_usdt


def test_the_losing_direction_is_reported_only_below_a_negative_threshold() -> None:
    assert set(by_pair(spatial([BINANCE, KRAKEN]))) == {("BTC-USDT", "binance", "kraken")}
    # Buy 1000 USDT @ 104 on kraken, sell @ 99 on binance.
    losing = by_pair(spatial([BINANCE, KRAKEN], ScanParams(min_net_edge_pct=-50)))[("BTC-USDT", "kraken", "binance")]
    assert losing.net_edge_pct == pytest.approx((99 - 104) / 104 * 100 - 0.25)
    assert losing.optimal_qty == 0.0 and losing.optimal_profit_usdt == 0.0  # no size earns anything


def test_buy_side_too_thin_for_the_target_notional() -> None:
    thin = book("binance", "BTC-USDT", bids=[[99, 10]], asks=[[100, 6], [102, 3]])  # 906 USDT
    assert spatial([thin, KRAKEN]) == []
    assert spatial([thin, KRAKEN], ScanParams(target_notional_usdt=900))


def test_sell_side_too_thin_for_the_quantity_bought() -> None:
    thin = book("kraken", "BTC-USDT", bids=[[103, 5], [102.5, 4]], asks=[[104, 10]])  # 9 BTC < 9.92
    assert spatial([BINANCE, thin]) == []


def test_fractional_taker_fees_make_one_pair_valid_and_another_not() -> None:
    # Buy 10 BTC @ 100 on okx (10 bps), sell @ 100.4 (gross 0.4 %) on each of:
    # bybit 12.5 bps: net = 0.4 - 0.225 - 0.05 = 0.125 >= 0.1
    # gate  15.5 bps: net = 0.4 - 0.255 - 0.05 = 0.095 <  0.1
    okx = book("okx", "BTC-USDT", bids=[[99.9, 50]], asks=[[100, 50]])
    bybit = book("bybit", "BTC-USDT", bids=[[100.4, 50]], asks=[[100.6, 50]])
    gate = book("gate", "BTC-USDT", bids=[[100.4, 50]], asks=[[100.6, 50]])
    fees = FeeSchedule(taker_fee_bps={"bybit": 12.5, "gate": 15.5}, withdraw_fees={"okx": {"BTC": 0.0}})
    found = by_pair(spatial([okx, bybit, gate], fees=fees))
    assert set(found) == {("BTC-USDT", "okx", "bybit")}
    o = found[("BTC-USDT", "okx", "bybit")]
    assert o.fees_pct == pytest.approx(0.225)
    assert o.net_edge_pct == pytest.approx(0.125)
    assert o.withdraw_pct == 0.0


def test_withdrawal_fee_kills_a_gross_edge() -> None:
    # Gross 0.5 %, fees 0.2, slippage 0.05: net 0.25 before the withdrawal of 10 BTC's fee.
    okx = book("okx", "BTC-USDT", bids=[[99.9, 50]], asks=[[100, 50]])
    binance = book("binance", "BTC-USDT", bids=[[100.5, 50]], asks=[[100.7, 50]])
    killed = FeeSchedule(withdraw_fees={"okx": {"BTC": 0.02}})  # 0.2 % of 10 BTC: net 0.05
    kept = FeeSchedule(withdraw_fees={"okx": {"BTC": 0.01}})  # 0.1 %: net 0.15
    assert spatial([okx, binance], fees=killed) == []
    [o] = spatial([okx, binance], fees=kept)
    assert o.withdraw_pct == pytest.approx(0.1)
    assert o.net_edge_pct == pytest.approx(0.15)


def test_threshold_is_inclusive() -> None:
    [o] = spatial([BINANCE, KRAKEN], fees=WITHDRAW)
    at = ScanParams(min_net_edge_pct=o.net_edge_pct)
    above = ScanParams(min_net_edge_pct=o.net_edge_pct + 1e-9)
    assert len(spatial([BINANCE, KRAKEN], at, WITHDRAW)) == 1
    assert spatial([BINANCE, KRAKEN], above, WITHDRAW) == []


def test_unknown_and_disabled_withdrawals_are_flagged() -> None:
    [unknown] = spatial([BINANCE, KRAKEN])
    assert unknown.withdraw_pct == 0.0
    assert unknown.risk_flag == "withdraw_fee_unknown"
    disabled = FeeSchedule(
        withdraw_fees={"binance": {"BTC": 0.0005}}, withdrawals_disabled=frozenset({("binance", "BTC")})
    )
    [o] = spatial([BINANCE, KRAKEN], fees=disabled)
    assert o.risk_flags == ["withdrawals_disabled"]


class TestNonUsdtQuote:
    # ETH-BTC: buy @ 0.05 on okx, sell @ 0.0503 on binance (gross 0.6 %). BTC-USDT mids
    # 60000, 61000, 62000: the notional is 1000 / 61000 BTC (the median).
    ETH_BTC = [
        book("okx", "ETH-BTC", bids=[[0.0499, 100]], asks=[[0.05, 100]]),
        book("binance", "ETH-BTC", bids=[[0.0503, 100]], asks=[[0.0504, 100]]),
    ]
    BTC_USDT = [
        book("okx", "BTC-USDT", bids=[[59_999, 10]], asks=[[60_001, 10]]),
        book("binance", "BTC-USDT", bids=[[61_999, 10]], asks=[[62_001, 10]]),
        book("kraken", "BTC-USDT", bids=[[60_999, 10]], asks=[[61_001, 10]]),
    ]
    FEES = FeeSchedule(withdraw_fees={"okx": {"ETH": 0.0001}})

    def test_notional_and_profit_convert_at_the_median_mid(self) -> None:
        found = by_pair(spatial(self.ETH_BTC + self.BTC_USDT, fees=self.FEES))
        o = found[("ETH-BTC", "okx", "binance")]
        qty = 1000 / 61_000 / 0.05
        withdraw = 0.0001 / qty * 100
        net = 0.6 - 0.2 - 0.05 - withdraw
        assert o.available_qty == pytest.approx(qty)
        assert o.withdraw_pct == pytest.approx(withdraw)
        assert o.net_edge_pct == pytest.approx(net)
        assert o.expected_profit_usdt == pytest.approx(net / 100 * 1000)
        # 100 ETH on both sides at one price each: the best size is all of it.
        assert o.optimal_qty == pytest.approx(100)
        assert o.optimal_profit_usdt == pytest.approx((100 * 0.0003 - 0.0025 * 5 - 0.0001 * 0.05) * 61_000)

    def test_no_quote_usdt_book_means_no_opportunity(self) -> None:
        assert spatial(self.ETH_BTC, fees=self.FEES) == []
        stale = [book(b.exchange, b.symbol, b.bids, b.asks, ts_ingest=NOW - 60_000) for b in self.BTC_USDT]
        assert [o for o in spatial(self.ETH_BTC + stale, fees=self.FEES) if o.symbol == "ETH-BTC"] == []
