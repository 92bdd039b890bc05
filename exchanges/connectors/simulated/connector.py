"""The simulated market as a connector, and the blocking entry point the demo calls."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence

from exchanges.connectors.base import BookSink
from exchanges.connectors.runner import RunSummary, run_connectors
from exchanges.connectors.simulated.market import SimulatedMarket
from exchanges.connectors.simulated.market_config import SimulationConfig
from exchanges.connectors.simulated.networks import TransferWorld
from exchanges.store.base import BookStore


class SimulatedConnector:
    """Ticks the market every `interval` seconds and puts all its books in the sink at once.

    The market lives on the connector, so a restart after a crash resumes the same prices
    and sequence ids instead of jumping.
    """

    name = "simulated"

    def __init__(self, market: SimulatedMarket, interval: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        if not interval > 0:
            raise ValueError("interval must be > 0 seconds")
        self.market = market
        self.interval = interval
        self._clock = clock

    async def run(self, sink: BookSink) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            sink.put_many(self.market.tick(int(self._clock() * 1000)))
            next_tick += self.interval
            delay = next_tick - loop.time()
            if delay < 0:  # fell behind (a paused process): carry on, don't burst to catch up
                next_tick, delay = loop.time(), 0.0
            await asyncio.sleep(delay)


def run_simulated_market(
    store: BookStore,
    symbols: Sequence[str],
    exchanges: Sequence[str],
    interval: float = 1.0,
    stop_event: threading.Event | None = None,
    seed: int | None = None,
    *,
    config: SimulationConfig | None = None,
    transfers: TransferWorld | None = None,
    duration: float | None = None,
    progress_every: float | None = None,
) -> RunSummary:
    """Write simulated books into `store` every `interval` seconds until `stop_event` is set
    (or `duration` seconds passed). Blocking; safe to run in a background thread."""
    market = SimulatedMarket(symbols, exchanges, config=config, seed=seed, transfers=transfers)
    return run_connectors(
        [SimulatedConnector(market, interval)],
        store,
        stop=stop_event,
        duration=duration,
        progress_every=progress_every,
    )
