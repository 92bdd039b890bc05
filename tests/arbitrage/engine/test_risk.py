"""Risk flags and evidence, as they reach the user on an opportunity."""

from __future__ import annotations

from arbitrage.engine.risk import SERIOUSNESS, most_serious, risk_flags
from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import FeeSchedule, Opportunity, ScanParams
from tests.arbitrage.engine.factories import NOW, book

KNOWN_FEE = FeeSchedule(withdraw_fees={"okx": {"BTC": 0.0}})


def one(books: list, params: ScanParams | None = None, fees: FeeSchedule = KNOWN_FEE) -> Opportunity:
    [opportunity] = scan_books(books, NOW, params or ScanParams(), fees).opportunities
    return opportunity


def pair(bid: float = 101.0, *, depth: float = 100.0, lag_ms: int = 20, meta: dict | None = None) -> list:
    return [
        book("okx", "BTC-USDT", bids=[[99.9, depth]], asks=[[100, depth]], lag_ms=lag_ms, meta=meta),
        book("binance", "BTC-USDT", bids=[[bid, depth]], asks=[[bid + 0.1, depth]]),
    ]


def test_a_clean_opportunity_is_ok() -> None:
    o = one(pair())
    assert (o.risk_flag, o.risk_flags) == ("ok", [])


def test_extreme_edge_above_the_sanity_bound() -> None:
    assert one(pair(bid=110)).risk_flags == ["extreme_edge"]  # net 9.75 % > 5 %
    assert one(pair(bid=110), ScanParams(extreme_edge_pct=20)).risk_flag == "ok"


def test_high_lag_flags_but_never_drops_a_book() -> None:
    o = one(pair(lag_ms=2_500))
    assert o.risk_flags == ["high_lag"]
    assert o.evidence[0].lag_ms == 2_500
    assert one(pair(lag_ms=2_000)).risk_flag == "ok"  # at the bound is fine


def test_thin_book_when_the_target_eats_most_of_a_side() -> None:
    # 1000 USDT buys 10 BTC; a side of 15 BTC is two thirds eaten.
    assert one(pair(depth=15)).risk_flags == ["thin_book"]
    assert one(pair(depth=15), ScanParams(thin_book_depth_share=0.7)).risk_flag == "ok"


def test_the_most_serious_flag_leads() -> None:
    fees = FeeSchedule(withdrawals_disabled=frozenset({("okx", "BTC")}))
    o = one(pair(bid=110, depth=15, lag_ms=5_000), fees=fees)
    # Every flag a rule-3 transfer (no networks) can raise with all the others.
    assert o.risk_flags == [
        f for f in SERIOUSNESS if f not in ("asset_mismatch", "no_transfer_route", "route_unverified")
    ]
    assert o.risk_flag == "extreme_edge"


def test_evidence_names_every_book_used() -> None:
    o = one(pair(meta={"seq_id": 123, "checksum_ok": False}))
    buy, sell = o.evidence
    assert (buy.exchange, buy.symbol, buy.seq_id, buy.checksum_ok) == ("okx", "BTC-USDT", 123, False)
    assert buy.ts_ingest - buy.ts_event == buy.lag_ms == 20
    assert sell.exchange == "binance"
    assert o.as_dict()["evidence"][0]["seq_id"] == 123


def test_flags_in_order_of_seriousness() -> None:
    flags = risk_flags(
        net_edge_pct=1.0,
        params=ScanParams(),
        books=[],
        depth_shares=[0.9],
        transfer={"route_unverified", "withdraw_fee_unknown"},
    )
    assert flags == ["withdraw_fee_unknown", "route_unverified", "thin_book"]
    assert most_serious(flags) == "withdraw_fee_unknown"
    assert most_serious([]) == "ok"
