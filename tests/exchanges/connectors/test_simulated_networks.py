"""The simulated market's transfer networks: a closed wallet, a ticker collision, and plants
that still net what they promise once the cheapest transfer is paid."""

from __future__ import annotations

import statistics

import pytest

from exchanges.connectors.simulated import (
    FeaturedPlant,
    NetworkListing,
    SimulatedMarket,
    SimulationConfig,
    TransferWorld,
    transfer_world,
)
from tests.exchanges.connectors.edges import NOTIONAL_USDT, buy_for_notional, spatial_net_pct

SYMBOLS = ["BTC-USDT", "ETH-USDT", "SOL-USDT", "LINK-USDT", "LINK-ETH", "ETH-BTC"]
VENUES = ["binance", "okx", "kraken", "htx", "mexc", "gemini"]
T0 = 1_700_000_000_000


def assets() -> set[str]:
    return {asset for symbol in SYMBOLS for asset in symbol.split("-")}


def test_every_venue_lists_every_coin_and_one_wallet_is_closed_and_one_ticker_is_another_coin():
    world = transfer_world(assets(), VENUES)
    listed = {(n.exchange, n.asset) for n in world.listings}
    assert listed == {(v, a) for v in VENUES for a in assets()}
    assert world.closed is not None and world.collision is not None
    closed = [n for n in world.listings if (n.exchange, n.asset) == world.closed]
    assert closed and not any(n.withdraw_enabled or n.deposit_enabled for n in closed)
    venue, asset = world.collision
    theirs = {n.contract for n in world.listings if n.asset == asset and n.exchange == venue}
    others = {n.contract for n in world.listings if n.asset == asset and n.exchange != venue}
    assert theirs and not theirs & others, "the collision's coin has a contract nobody else lists"


def test_the_transfer_fee_is_the_cheapest_open_network_both_sides_share():
    def listing(exchange: str, network: str, fee: float, **kw: object) -> NetworkListing:
        return NetworkListing(exchange=exchange, asset="USDT", network=network, withdraw_fee=fee, **kw)  # type: ignore[arg-type]

    world = TransferWorld(
        listings=(
            listing("a", "ERC20", 4.0, contract="0xAbC"),
            listing("a", "TRC20", 1.0),
            listing("a", "SOL", 0.5, contract="mint1"),
            listing("b", "ERC20", 9.0, contract="0xabc"),  # the same coin, written in another case
            listing("b", "TRC20", 9.0, deposit_enabled=False),  # cheaper, but b takes no deposits there
            listing("b", "SOL", 9.0, contract="mint2"),  # cheapest, but another coin
            listing("c", "BEP20", 0.1),
        )
    )
    assert world.transfer_fee("a", "b", "USDT") == 4.0
    assert world.transfer_fee("a", "c", "USDT") == 0.0  # no network in common: no route, as the scan counts it
    assert world.transfer_fee("b", "a", "USDT") == 9.0


def test_featured_plants_come_back_after_they_end():
    world = transfer_world(assets(), VENUES)
    assert world.closed is not None
    venue, asset = world.closed
    spec = FeaturedPlant(symbol=f"{asset}-USDT", exchange=venue, side="sell")
    config = SimulationConfig(
        featured_plants=(spec,), featured_every_sec=60, plant_lifetime_sec=(20, 20), spatial_plants_per_minute=0
    )
    market = SimulatedMarket(SYMBOLS, VENUES, config, seed=1, transfers=world)
    market.tick(T0)
    assert [(p.exchange, p.symbol, p.side) for p in market.active_plants] == [(venue, spec.symbol, "sell")]
    market.tick(T0 + 30_000)
    assert market.active_plants == ()  # it ended after 20 s
    market.tick(T0 + 61_000)
    assert [(p.exchange, p.symbol) for p in market.active_plants] == [(venue, spec.symbol)]


def test_a_featured_plant_on_a_symbol_the_market_does_not_have_is_skipped_not_fatal():
    config = SimulationConfig(featured_plants=(FeaturedPlant(symbol="DOGE-USDT", exchange="okx", side="buy"),))
    market = SimulatedMarket(SYMBOLS, VENUES, config, seed=1)
    market.tick(T0)
    market.tick(T0 + 1000)
    assert market.active_plants == ()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_plant_nets_its_promise_after_the_cheapest_transfer(seed):
    world = transfer_world(assets(), VENUES, seed=seed)
    spec = FeaturedPlant(symbol="ETH-USDT", exchange="binance", side="buy", partner="okx")
    market = SimulatedMarket(SYMBOLS, VENUES, SimulationConfig(featured_plants=(spec,)), seed=seed, transfers=world)
    books = {(b.exchange, b.symbol): b for b in market.tick(T0)}
    (plant,) = market.active_plants
    buy, sell = books[("binance", "ETH-USDT")], books[("okx", "ETH-USDT")]
    fee_units = world.transfer_fee("binance", "okx", "ETH")
    assert fee_units > 0
    buy_vwap, _ = buy_for_notional(buy.asks, NOTIONAL_USDT)
    withdraw_pct = fee_units * buy_vwap / NOTIONAL_USDT * 100
    net = spatial_net_pct(buy, sell, NOTIONAL_USDT) - withdraw_pct
    assert net == pytest.approx(plant.net_edge_pct, abs=0.02)


def test_the_collision_venue_quotes_another_coin_consistently_across_its_own_markets():
    world = transfer_world(assets(), VENUES)
    assert world.collision is not None
    venue, asset = world.collision
    market = SimulatedMarket(SYMBOLS, VENUES, SimulationConfig(), seed=4, transfers=world)
    for second in range(0, 120, 5):
        books = {(b.exchange, b.symbol): b for b in market.tick(T0 + second * 1000)}

    def mid(exchange: str, symbol: str) -> float:
        book = books[(exchange, symbol)]
        return (book.bids[0][0] + book.asks[0][0]) / 2

    usdt = f"{asset}-USDT"
    elsewhere = statistics.median(mid(v, usdt) for v in VENUES if v != venue)
    assert mid(venue, usdt) / elsewhere - 1 == pytest.approx(0.03, abs=0.01)
    # Its own cross market prices the same other coin: no triangle inside the venue.
    cross = mid(venue, f"{asset}-ETH") * mid(venue, "ETH-USDT")
    assert cross / mid(venue, usdt) == pytest.approx(1, abs=0.002)
