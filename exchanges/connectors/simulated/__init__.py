"""A simulated market for the product's exchanges: realistic books and occasional real arbitrage.

Used by the embedded demo (no network, no keys) and by `manage.py ingest --connector
simulated`. It has no Django dependency: everything is passed in as plain lists.

Embedding it (the demo runs this in a background thread of its own process)::

    stop = threading.Event()
    thread = threading.Thread(
        target=run_simulated_market,
        args=(store, ["BTC-USDT", "ETH-USDT", "ETH-BTC"], SIMULATED_EXCHANGES),
        kwargs={"interval": 1.0, "stop_event": stop, "seed": None},
        daemon=True,
    )
    thread.start()
    ...
    stop.set(); thread.join()  # returns within ~0.2 s, after a final flush

`run_simulated_market(store, symbols, exchanges, interval=1.0, stop_event=None,
seed=None, *, config=None, duration=None, progress_every=None)` blocks until
`stop_event` is set or `duration` seconds passed; every tick writes all books through one
batched `store.write_books` call. It returns a `RunSummary` (books written, restarts).
From async code, run `ConnectorRunner([SimulatedConnector(market, interval)], sink)`
with an `asyncio.Event` instead.

What the market does: one fair price per asset follows a geometric random walk; each
venue quotes 25 levels a side around it with its own spread, depth, lag and a small
deviation that never pays two taker fees plus slippage. Now and then (`SimulationConfig`:
`spatial_plants_per_minute`, `triangular_plants_per_minute`) it plants a real edge of
0.3-1.5 % net at 1,000 USDT for 15-30 s, then removes it; `SimulatedMarket.active_plants`
lists the ones in force and the log announces each.

With a `TransferWorld` (networks.py: per-venue withdrawal networks, one closed wallet,
one ticker collision), plants net what they promise after the cheapest transfer too, and
the collision venue quotes the other coin's price.
"""

from exchanges.connectors.simulated.connector import SimulatedConnector, run_simulated_market
from exchanges.connectors.simulated.market import SimulatedMarket
from exchanges.connectors.simulated.market_config import FeaturedPlant, SimulationConfig
from exchanges.connectors.simulated.networks import NetworkListing, TransferWorld, transfer_world
from exchanges.connectors.simulated.plants import PlantedEdge
from exchanges.registry import IDS

# The product's exchanges, in the registry's order.
SIMULATED_EXCHANGES: tuple[str, ...] = IDS

__all__ = [
    "SIMULATED_EXCHANGES",
    "FeaturedPlant",
    "NetworkListing",
    "PlantedEdge",
    "SimulatedConnector",
    "SimulatedMarket",
    "SimulationConfig",
    "TransferWorld",
    "run_simulated_market",
    "transfer_world",
]
