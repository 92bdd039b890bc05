from exchanges.connectors.simulated import SimulatedMarket, SimulationConfig


def test_plant_on_start_dislocates_a_book_on_the_first_tick():
    market = SimulatedMarket(
        ["BTC-USDT", "ETH-USDT"], ["binance", "okx", "kraken"], SimulationConfig(plant_on_start=True), seed=3
    )
    market.tick(1_000_000)
    assert [plant.kind for plant in market.active_plants] == ["spatial"]


def test_no_plant_on_the_first_tick_by_default():
    market = SimulatedMarket(["BTC-USDT", "ETH-USDT"], ["binance", "okx", "kraken"], seed=3)
    market.tick(1_000_000)
    assert market.active_plants == ()
