"""Crypto.com through the real connector and the unchanged ccxt client, against the fake
(tests/fakes/cryptocom.py): the stored books are the exchange's true books, and every fault
the protocol allows (a sequence gap, a refused subscription, a broken frame, a stall, a
dropped connection, a silent channel) flags the book, then brings it back healthy and
exact, while another exchange in the same ingest stays fresh throughout. Crypto.com's `cs`
checksum is undocumented: a wrong one changes nothing, and no book claims a checksum."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from exchanges.connectors.exchanges.cryptocom import CHANNELS_PER_CONNECTION, CryptocomAdapter
from exchanges.registry import BY_ID
from tests.fakes.binance import FakeBinance
from tests.fakes.cryptocom import FakeCryptocom
from tests.fakes.harness import Market, books, eventually, live_market

SYMBOLS = ["BTC-USDT", "ETH-USDT", "CRO-USD"]
WATCH = {"cryptocom": SYMBOLS, "binance": ["BTC-USDT"]}


def fakes(**kwargs: float) -> tuple[FakeCryptocom, FakeBinance]:
    true_books = books(("BTC-USDT", "60000"), ("ETH-USDT", "3000"), seed=11, tick="0.01")
    true_books += books(("CRO-USD", "0.09"), seed=12, tick="0.00001", lot="0.001")
    return FakeCryptocom(true_books, **kwargs), FakeBinance(books(("BTC-USDT", "60010"), seed=4))


async def test_stored_books_are_the_true_books_and_heartbeats_are_answered() -> None:
    cryptocom, binance = fakes(heartbeat_sec=0.3, heartbeat_timeout_sec=0.5)
    async with live_market([cryptocom, binance], WATCH) as market:
        for symbol in SYMBOLS:
            stored = await market.in_sync("cryptocom", symbol)
            assert stored.meta["exchange_symbol"] == symbol.replace("-", "_")
            assert stored.meta["checksum_ok"] is None  # `cs` is undocumented: nothing verified
            assert isinstance(stored.meta["seq_id"], int)
        await eventually(lambda: cryptocom.stats["heartbeats_answered"] >= 3, "heartbeats answered")
        assert cryptocom.stats["heartbeat_timeouts"] == 0 and cryptocom.stats["connections"] == 1
        assert cryptocom.stats["errors"] == 0 and market.connectors["cryptocom"].stats.failures == {}


async def test_a_wrong_cs_changes_nothing() -> None:
    cryptocom, binance = fakes()
    async with live_market([cryptocom, binance], WATCH) as market:
        await market.in_sync("cryptocom", "ETH-USDT")
        for _ in range(5):
            cryptocom.corrupt_checksum("ETH-USDT")
            await cryptocom.step("ETH-USDT")
        stored = await market.in_sync("cryptocom", "ETH-USDT")
        assert stored.meta["checksum_ok"] is None and not market.store.marks


async def _gap(market: Market, fake: FakeCryptocom, symbol: str) -> None:
    fake.inject_gap(symbol)  # the next delta's pu skips ids


async def _refused_resubscription(market: Market, fake: FakeCryptocom, symbol: str) -> None:
    fake.fail_snapshots(2)  # the snapshot comes with the subscription: two are refused
    fake.inject_gap(symbol)


async def _malformed(market: Market, fake: FakeCryptocom, symbol: str) -> None:
    await fake.send_malformed()


async def _drop(market: Market, fake: FakeCryptocom, symbol: str) -> None:
    fake.refuse_connections(2)
    await fake.drop_connections()


async def _stall(market: Market, fake: FakeCryptocom, symbol: str) -> None:
    fake.stall()
    await eventually(lambda: not market.book("cryptocom", symbol).is_healthy, "flagged while stalled")  # type: ignore[union-attr]
    fake.unstall()


async def _mute(market: Market, fake: FakeCryptocom, symbol: str) -> None:
    fake.mute(symbol)
    await eventually(lambda: market.store.marked("cryptocom", symbol, "no update"), "silent channel flagged")
    fake.unmute(symbol)


Fault = Callable[[Market, FakeCryptocom, str], Awaitable[None]]

FAULTS: dict[str, tuple[Fault, str]] = {
    "gap": (_gap, "sequence"),
    "snapshot": (_refused_resubscription, "sequence"),
    "malformed": (_malformed, "connection lost"),
    "drop": (_drop, "connection lost"),
    "stall": (_stall, "connection lost"),
    "silence": (_mute, "no update"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_flags_the_book_then_it_is_healthy_and_exact_again(fault: str) -> None:
    inject, reason = FAULTS[fault]
    cryptocom, binance = fakes()
    symbol = "ETH-USDT"
    connector = {"silence_sec": 0.8, "min_silence_sec": 0.8, "book_silence_sec": 1.0, "min_book_silence_sec": 1.0}
    async with live_market([cryptocom, binance], WATCH, connector=connector) as market:
        await market.in_sync("binance", "BTC-USDT")
        await market.in_sync("cryptocom", symbol)
        subscribes = cryptocom.stats["subscribes"] + cryptocom.stats["resubscribes"]

        await inject(market, cryptocom, symbol)
        await eventually(lambda: market.store.marked("cryptocom", symbol, reason), f"flagged ({reason})")
        assert market.fresh("binance", "BTC-USDT")  # the other exchange is not disturbed
        await eventually(lambda: market.book("cryptocom", symbol).is_healthy, "healthy again")  # type: ignore[union-attr]
        stored = await market.in_sync("cryptocom", symbol)
        assert stored.meta["checksum_ok"] is None
        for other in SYMBOLS:
            await market.in_sync("cryptocom", other)

        # a fresh snapshot, from a new subscription
        assert cryptocom.stats["subscribes"] + cryptocom.stats["resubscribes"] > subscribes
        stats = market.connectors["cryptocom"].stats
        if fault == "gap":
            # (a resubscription may meet the rate limit of the connection's first second: retried)
            assert stats.failures["sequence"] == 1 and stats.reconnects == 0
            assert not market.store.marked("cryptocom", "BTC-USDT")  # its neighbours stay live
            assert cryptocom.stats["resubscribes"] == 1  # that one channel, on the live connection
            assert cryptocom.stats["subscribes"] == len(SYMBOLS)
        if fault == "snapshot":
            assert cryptocom.stats["snapshot_failed"] == 2 and stats.failures["snapshot"] == 2
        assert market.connectors["binance"].stats.reconnects == 0
        assert market.fresh("binance", "BTC-USDT")
        assert market.runner.restarts == 0


async def test_a_refused_first_subscription_is_retried() -> None:
    cryptocom, binance = fakes()
    cryptocom.fail_snapshots(1)  # the batch's one subscribe request fails for all its books
    async with live_market([cryptocom, binance], WATCH) as market:
        for symbol in SYMBOLS:
            await market.in_sync("cryptocom", symbol)
        assert market.connectors["cryptocom"].stats.failures["snapshot"] >= 1
        assert market.runner.restarts == 0


def test_channels_are_spread_over_connections_of_at_most_400() -> None:
    exchange = CryptocomAdapter(BY_ID["cryptocom"]).create({})
    urls = [exchange.book_url(f"book.C{i}_USD.50") for i in range(CHANNELS_PER_CONNECTION + 1)]
    assert len(set(urls[:CHANNELS_PER_CONNECTION])) == 1 and urls[-1] != urls[0]
    assert urls[-1].partition("#")[0] == urls[0]  # the same endpoint: the fragment is never sent
