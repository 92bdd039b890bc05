"""The simulated market: valid, realistic books, a moving price, and honest plants."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence

import pytest

from exchanges import registry
from exchanges.connectors.simulated import SIMULATED_EXCHANGES, SimulatedMarket, SimulationConfig
from kernel.book import OrderBookSnapshot, parse_book

from .edges import NOTIONAL_USDT, best_spatial_net_pct, quote_usdt, spatial_net_pct, triangle_net_pct

WATCHLIST = [
    "BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "BNB-USDT", "DOGE-USDT", "ADA-USDT",
    "LTC-USDT", "LINK-USDT", "AVAX-USDT", "ETH-BTC", "SOL-BTC", "XRP-BTC", "SOL-ETH", "LINK-ETH",
]  # fmt: skip
T0 = 1_750_000_000_000
NO_PLANTS = SimulationConfig(spatial_plants_per_minute=0, triangular_plants_per_minute=0)


def market(
    symbols: Sequence[str] = WATCHLIST,
    exchanges: Sequence[str] = SIMULATED_EXCHANGES,
    config: SimulationConfig = NO_PLANTS,
    seed: int = 7,
) -> SimulatedMarket:
    return SimulatedMarket(symbols, exchanges, config=config, seed=seed)


def mid(book: OrderBookSnapshot) -> float:
    return (book.bids[0][0] + book.asks[0][0]) / 2


def test_simulates_every_supported_exchange():
    assert set(SIMULATED_EXCHANGES) == set(registry.IDS)


def test_books_are_valid_deep_sorted_and_uncrossed():
    books = market().tick(T0)
    assert len(books) == len(WATCHLIST) * len(SIMULATED_EXCHANGES)
    assert {(b.exchange, b.symbol) for b in books} == {(e, s) for e in SIMULATED_EXCHANGES for s in WATCHLIST}
    for book in books:
        parsed = parse_book(book.to_dict())  # sorted, positive, not crossed, right fields
        assert len(parsed.bids) >= 20 and len(parsed.asks) >= 20
        assert parsed.bids[0][0] < parsed.asks[0][0]
        assert 0 < parsed.lag_ms < 1000 and parsed.ts_ingest == T0
        assert parsed.meta["checksum_ok"] is True and parsed.meta["lag_ms"] == parsed.lag_ms
        assert parsed.is_healthy


def test_initial_prices_are_realistic_and_crosses_derive_from_usdt_legs():
    books = {(b.exchange, b.symbol): b for b in market().tick(T0)}
    expected = {"BTC-USDT": 60_000, "ETH-USDT": 3_000, "SOL-USDT": 150, "XRP-USDT": 0.6, "BNB-USDT": 550,
                "DOGE-USDT": 0.15, "ADA-USDT": 0.45, "LTC-USDT": 80, "LINK-USDT": 15, "AVAX-USDT": 35,
                "ETH-BTC": 0.05, "SOL-ETH": 0.05}  # fmt: skip
    for symbol, price in expected.items():
        assert mid(books[("binance", symbol)]) == pytest.approx(price, rel=0.002), symbol


def test_venues_differ_in_spread_and_depth():
    books = {(b.exchange, b.symbol): b for b in market().tick(T0)}

    def spread_bps(exchange: str) -> float:
        book = books[(exchange, "BTC-USDT")]
        return (book.asks[0][0] - book.bids[0][0]) / mid(book) * 1e4

    def depth_usdt(exchange: str) -> float:
        book = books[(exchange, "BTC-USDT")]
        return sum(p * q for p, q in book.bids[:20])

    assert spread_bps("binance") < spread_bps("gemini")
    assert depth_usdt("binance") > 2 * depth_usdt("gemini")
    mids = {mid(books[(e, "BTC-USDT")]) for e in SIMULATED_EXCHANGES}
    assert len(mids) == len(SIMULATED_EXCHANGES)  # every venue quotes its own price
    assert max(mids) / min(mids) - 1 < 0.0015  # ... but close to the others


def test_sequence_ids_increase_per_book_and_timestamps_follow_the_clock():
    m = market(symbols=["BTC-USDT"], exchanges=["binance", "kraken"])
    first, second = m.tick(T0), m.tick(T0 + 1000)
    for a, b in zip(first, second, strict=True):
        assert b.meta["seq_id"] == a.meta["seq_id"] + 1
        assert b.ts_ingest == a.ts_ingest + 1000 and b.ts_event >= a.ts_event


def test_the_fair_price_walks_with_realistic_volatility():
    m = market(symbols=["BTC-USDT"], exchanges=["binance"])
    prices = [mid(m.tick(T0 + i * 1000)[0]) for i in range(600)]
    returns = [math.log(b / a) for a, b in itertools.pairwise(prices)]
    assert len(set(prices)) > 500
    # BTC at ~50 %/year is ~1 bp per second; spread and venue noise add a little.
    assert 0.3e-4 < statistics.pstdev(returns) < 5e-4
    assert 0.9 < prices[-1] / prices[0] < 1.1


def test_same_seed_same_market_and_other_seed_another():
    def run(seed):
        m = market(symbols=["ETH-USDT"], exchanges=["okx"], seed=seed)
        return [m.tick(T0 + i * 1000)[0].to_dict() for i in range(5)]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_unknown_assets_and_venues_get_a_stable_profile():
    a = market(symbols=["FOO-USDT", "FOO-BTC", "BTC-USDT"], exchanges=["binance", "newdex"], seed=1).tick(T0)
    b = market(symbols=["FOO-USDT"], exchanges=["binance"], seed=1).tick(T0)
    foo = next(x for x in a if x.symbol == "FOO-USDT" and x.exchange == "binance")
    assert mid(foo) == pytest.approx(mid(b[0]), rel=0.002)
    for book in a:
        assert len(parse_book(book.to_dict()).asks) >= 20


def test_without_plants_no_venue_pair_beats_fees_and_slippage():
    m = market(seed=11)
    worst = max((best_spatial_net_pct(m.tick(T0 + i * 5000)) for i in range(40)), key=lambda x: x[0])
    assert worst[0] < 0.1, worst


def test_without_plants_no_triangle_beats_three_fees_and_slippage():
    m = market(seed=12)
    triangles = [("USDT", a, b, "USDT") for a, b in [("BTC", "ETH"), ("BTC", "SOL"), ("ETH", "SOL"), ("ETH", "LINK")]]
    triangles += [(u, b, a, v) for u, a, b, v in triangles]
    for i in range(40):
        books = m.tick(T0 + i * 5000)
        for exchange in SIMULATED_EXCHANGES:
            venue = {b.symbol: b for b in books if b.exchange == exchange}
            for path in triangles:
                assert triangle_net_pct(venue, path) < 0.1, (exchange, path)


def test_planted_spatial_edge_is_real_after_costs_and_then_disappears():
    m = market(seed=5)
    m.tick(T0)
    plant = m.plant_spatial(T0, symbol="SOL-USDT", exchange="okx", side="sell", partner="kraken", lifetime_sec=20)
    assert plant is not None and 0.3 <= plant.net_edge_pct <= 1.5
    assert (plant.buy_exchange, plant.sell_exchange) == ("kraken", "okx")
    for second in range(1, 20):
        books = {(b.exchange, b.symbol): b for b in m.tick(T0 + second * 1000)}
        net = spatial_net_pct(books[("kraken", "SOL-USDT")], books[("okx", "SOL-USDT")], NOTIONAL_USDT)
        assert 0.3 <= net <= 1.5
        assert net == pytest.approx(plant.net_edge_pct, abs=0.01)
        parse_book(books[(plant.exchange, "SOL-USDT")].to_dict())
    after = m.tick(T0 + 20_000)
    assert m.active_plants == ()
    books = {(b.exchange, b.symbol): b for b in after}
    assert spatial_net_pct(books[("kraken", "SOL-USDT")], books[("okx", "SOL-USDT")], NOTIONAL_USDT) < 0
    assert best_spatial_net_pct(after)[0] < 0.1


def test_planted_edge_on_a_cross_pair_is_sized_in_usdt():
    m = market(seed=9)
    m.tick(T0)
    m.plant_spatial(T0, symbol="ETH-BTC", exchange="binance", side="buy", partner="gate")
    books = m.tick(T0 + 1000)
    by_key = {(b.exchange, b.symbol): b for b in books}
    notional_btc = NOTIONAL_USDT / quote_usdt(books, "BTC")
    net = spatial_net_pct(by_key[("binance", "ETH-BTC")], by_key[("gate", "ETH-BTC")], notional_btc)
    assert 0.3 <= net <= 1.5


def test_random_plants_arrive_now_and_then_within_the_promised_range():
    config = SimulationConfig(spatial_plants_per_minute=2, triangular_plants_per_minute=0)
    m = market(symbols=[*WATCHLIST[:6], "ETH-BTC"], exchanges=SIMULATED_EXCHANGES[:6], config=config, seed=2)
    seen: set[tuple[str, int]] = set()
    best: list[float] = []
    for i in range(180):  # 15 minutes of 5 s scans
        books = m.tick(T0 + i * 5000)
        seen.update((p.symbol, p.started_ms) for p in m.active_plants)
        if m.active_plants:
            net = best_spatial_net_pct(books)[0]
            # Unpinned plants are calibrated against the best other venue: the market's
            # best pair is exactly the biggest plant, never more.
            assert net == pytest.approx(max(p.net_edge_pct for p in m.active_plants), abs=0.01)
            best.append(net)
    assert len(seen) >= 5
    assert len(best) < 170  # edges come and go
    assert all(0.3 <= b <= 1.5 for b in best), max(best)


def test_planted_triangle_is_profitable_after_three_fees_and_slippage():
    m = market(seed=4)
    m.tick(T0)
    path = ("USDT", "BTC", "ETH", "USDT")  # buys ETH with BTC: the ETH-BTC book is cheapened
    plant = m.plant_triangular(T0, exchange="kucoin", path=path, net_edge_pct=0.6, lifetime_sec=10)
    assert plant is not None and plant.symbol == "ETH-BTC"
    for second in range(1, 10):
        books = {b.symbol: b for b in m.tick(T0 + second * 1000) if b.exchange == "kucoin"}
        assert triangle_net_pct(books, path) == pytest.approx(0.6, abs=0.01)
    books = {b.symbol: b for b in m.tick(T0 + 10_000) if b.exchange == "kucoin"}
    assert triangle_net_pct(books, path) < 0
    assert triangle_net_pct(books, ("USDT", "ETH", "BTC", "USDT")) < 0


def test_random_triangular_plants_hit_their_target():
    config = SimulationConfig(spatial_plants_per_minute=0, triangular_plants_per_minute=3)
    m = market(symbols=["BTC-USDT", "ETH-USDT", "ETH-BTC"], exchanges=["okx", "gate"], config=config, seed=8)
    planted = set()
    for i in range(120):
        books = m.tick(T0 + i * 5000)
        for plant in m.active_plants:
            assert plant.kind == "triangular" and plant.path[0] == plant.path[-1] == "USDT"
            venue = {b.symbol: b for b in books if b.exchange == plant.exchange}
            assert triangle_net_pct(venue, plant.path) == pytest.approx(plant.net_edge_pct, abs=0.01)
            planted.add((plant.exchange, plant.path, plant.started_ms))
    assert len(planted) >= 3
    assert len({path for _, path, _ in planted}) == 2  # both directions around the triangle


def test_two_plants_never_share_a_symbol_or_a_dislocated_venue():
    m = market(symbols=["BTC-USDT", "ETH-USDT"], exchanges=["binance", "okx", "bybit"])
    first = m.plant_spatial(T0, symbol="BTC-USDT", exchange="okx")
    assert first is not None
    assert m.plant_spatial(T0, symbol="BTC-USDT") is None
    assert m.plant_spatial(T0, symbol="ETH-USDT", exchange="okx") is None
    second = m.plant_spatial(T0, symbol="ETH-USDT")
    assert second is not None and second.exchange != "okx"


@pytest.mark.parametrize(
    ("symbols", "exchanges", "message"),
    [
        (["btc-usdt"], ["binance"], "not a symbol"),
        (["BTC/USDT"], ["binance"], "not a symbol"),
        (["BTC-BTC"], ["binance"], "not a symbol"),
        (["BTC-USDT"], ["Binance"], "not an exchange id"),
        ([], ["binance"], "at least one symbol"),
    ],
)
def test_bad_inputs_are_rejected_with_a_clear_message(symbols, exchanges, message):
    with pytest.raises(ValueError, match=message):
        SimulatedMarket(symbols, exchanges)


def test_explicit_plant_requests_are_validated():
    m = market(symbols=["BTC-USDT", "SOL-ETH"], exchanges=["binance", "okx"])
    with pytest.raises(ValueError, match="unknown exchange"):
        m.plant_spatial(T0, exchange="nope")
    with pytest.raises(ValueError, match="no QUOTE-USDT book"):
        m.plant_spatial(T0, symbol="SOL-ETH")
    with pytest.raises(ValueError, match="cannot plant"):
        m.plant_triangular(T0, path=("USDT", "SOL", "ETH", "USDT"))


def test_a_config_whose_venue_noise_could_beat_fees_is_refused():
    with pytest.raises(ValueError, match="venue_noise_cap_bps"):
        SimulationConfig(venue_noise_cap_bps=20)
