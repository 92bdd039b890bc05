"""All 14 exchanges at once, each through the unchanged ccxt client and its own adapter
against its protocol-faithful fake: every stored book equals its fake's true book, three
exchanges losing their connections at the same moment come back exact, and the other eleven
stay fresh throughout. Each exchange's own fault matrix is in test_truth_<exchange>.py."""

from __future__ import annotations

import asyncio

from exchanges.registry import IDS
from tests.fakes.binance import FakeBinance
from tests.fakes.bitfinex import FakeBitfinex
from tests.fakes.bitget import FakeBitget
from tests.fakes.bitstamp import FakeBitstamp
from tests.fakes.bybit import FakeBybit
from tests.fakes.coinbase import FakeCoinbase
from tests.fakes.cryptocom import FakeCryptocom
from tests.fakes.gate import FakeGate
from tests.fakes.gemini import FakeGemini
from tests.fakes.harness import books, eventually, live_market
from tests.fakes.htx import FakeHtx
from tests.fakes.kraken import FakeKraken
from tests.fakes.kucoin import FakeKucoin
from tests.fakes.mexc import FakeMexc
from tests.fakes.okx import FakeOkx
from tests.fakes.server import FakeExchange

USDT = (("BTC-USDT", "60000"), ("ETH-USDT", "3000"))
USD = (("BTC-USD", "60000"), ("ETH-USD", "3000"))


def all_fakes() -> list[FakeExchange]:
    kinds: list[tuple[type[FakeExchange], tuple[tuple[str, str], ...]]] = [
        (FakeBinance, USDT),
        (FakeOkx, USDT),
        (FakeBybit, USDT),
        (FakeCoinbase, USD),
        (FakeKraken, USD),
        (FakeKucoin, USDT),
        (FakeGate, USDT),
        (FakeHtx, USDT),
        (FakeBitget, USDT),
        (FakeMexc, USDT),
        (FakeBitfinex, USD),
        (FakeBitstamp, USD),
        (FakeGemini, USD),
        (FakeCryptocom, USDT),
    ]
    # A calmer market than a single exchange's test: fourteen fakes share two cores.
    return [kind(books(*specs, seed=i), interval=0.05) for i, (kind, specs) in enumerate(kinds)]


async def test_fourteen_exchanges_at_once_exact_and_isolated() -> None:
    fakes = all_fakes()
    assert sorted(f.name for f in fakes) == sorted(IDS)
    watch = {fake.name: list(fake.books) for fake in fakes}
    async with live_market(fakes, watch) as market:
        for fake in fakes:
            for symbol in fake.books:
                stored = await market.in_sync(fake.name, symbol, limit_sec=40)
                assert stored.is_healthy
                checksum_ok = stored.meta.get("checksum_ok")
                assert checksum_ok in (True, None), (fake.name, checksum_ok)  # never False on a healthy book

        # Three exchanges lose every connection at once; the others must not notice.
        hit = {"okx", "gate", "bitstamp"}
        lapses: list[str] = []

        async def sample() -> None:
            while True:
                for fake in fakes:
                    if fake.name not in hit and not market.fresh(fake.name, next(iter(fake.books)), within_ms=3000):
                        lapses.append(fake.name)
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        try:
            for fake in fakes:
                if fake.name in hit:
                    await fake.drop_connections()
            for name in sorted(hit):
                symbol = next(iter(market.fakes[name].books))
                await eventually(lambda n=name, s=symbol: not market.fresh(n, s, within_ms=200), f"{name} interrupted")
            for name in sorted(hit):
                for symbol in market.fakes[name].books:
                    await market.in_sync(name, symbol, limit_sec=40)
        finally:
            sampler.cancel()
        assert not lapses, f"went stale while others failed: {sorted(set(lapses))}"
        assert market.runner.restarts == 0
