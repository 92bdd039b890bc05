"""The soak's market: 14 exchanges, three of them protocol-faithful fakes (binance, okx,
kraken) that misbehave all along, one way each, while the eleven others come from the
simulated venues. Every book moves several times a second, so a book that stops changing
while marked healthy is frozen, not quiet."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exchanges import registry
from exchanges.connectors.simulated.profiles import ASSET_PROFILES
from tests.fakes.binance import FakeBinance
from tests.fakes.book import TrueBook
from tests.fakes.kraken import FakeKraken
from tests.fakes.okx import FakeOkx
from tests.fakes.server import FakeExchange

logger = logging.getLogger("soak")

# USDT pairs at the simulated market's starting prices, with a tick that suits each price.
SYMBOLS: dict[str, str] = {
    "BTC-USDT": "0.1",
    "ETH-USDT": "0.01",
    "SOL-USDT": "0.01",
    "LTC-USDT": "0.01",
    "LINK-USDT": "0.001",
    "AVAX-USDT": "0.001",
}
MISBEHAVING = ("binance", "okx", "kraken")


def simulated_exchanges() -> list[str]:
    return [info.id for info in registry.EXCHANGES if info.id not in MISBEHAVING]


def fake_exchanges(seed: int = 11) -> list[FakeExchange]:
    rng = random.Random(seed)

    def true_books() -> list[TrueBook]:
        return [
            TrueBook.around(symbol, str(ASSET_PROFILES[symbol.split("-")[0]].price_usdt), tick=tick, rng=rng)
            for symbol, tick in SYMBOLS.items()
        ]

    # Ten changes a second per book, as busy pairs on a real venue.
    return [
        FakeBinance(true_books(), seed=seed, interval=0.1),
        FakeOkx(true_books(), seed=seed + 1, interval=0.1),
        FakeKraken(true_books(), seed=seed + 2, interval=0.1),
    ]


def write_ccxt_config(fakes: list[FakeExchange], path: Path) -> None:
    """Endpoints only: the connector runs with its production timings and backoff."""
    document: dict[str, Any] = {fake.name: {**fake.ccxt_config(), "rateLimit": 50} for fake in fakes}
    path.write_text(json.dumps(document, indent=2))


@dataclass
class Fault:
    name: str
    start: float  # time.time()
    end: float | None = None

    @property
    def duration(self) -> float:
        return (self.end or time.time()) - self.start


@dataclass
class FaultLog:
    faults: list[Fault] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def during(self, name: str) -> Any:
        fault = Fault(name, time.time())
        self.faults.append(fault)
        logger.info("fault: %s", name)
        try:
            yield fault
        finally:
            fault.end = time.time()

    def count(self, prefix: str) -> int:
        return sum(1 for f in self.faults if f.name.startswith(prefix))


async def every(period: float, action: Callable[[], Awaitable[None]], first_after: float) -> None:
    await asyncio.sleep(first_after)
    while True:
        await action()
        await asyncio.sleep(period)


def misbehave(fakes: list[FakeExchange], faults: FaultLog) -> list[asyncio.Task[None]]:
    """binance drops its connections every minute; okx stalls (socket open, silent) for 20 s
    every 90 s; kraken sends junk every 30 s (a malformed frame, then a wrong checksum)."""
    binance, okx, kraken = fakes

    async def drop() -> None:
        async with faults.during("binance: connections dropped"):
            await binance.drop_connections()

    async def stall() -> None:
        async with faults.during("okx: stalled 20 s"):
            okx.stall()
            await asyncio.sleep(20)
            okx.unstall()

    symbols = list(SYMBOLS)

    async def junk() -> None:
        async with faults.during("kraken: junk frame and a bad checksum"):
            await kraken.send_malformed()
            kraken.corrupt_checksum(random.choice(symbols))

    return [
        asyncio.create_task(every(60, drop, 45), name="binance drops"),
        asyncio.create_task(every(90, stall, 30), name="okx stalls"),
        asyncio.create_task(every(30, junk, 20), name="kraken junk"),
    ]
