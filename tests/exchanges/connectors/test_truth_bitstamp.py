"""Bitstamp through the real connector against its protocol-faithful fake: the stored books
are the true ones (REST snapshot lagging the stream, merged with the cached diff events),
and every fault the protocol lets a client see (failed snapshots, a malformed frame, a
stall, a dropped or refused connection, one silent book, a reconnect request) marks the
book unhealthy, then healthy and exact again, while binance next to it stays fresh. A lost
diff event is the one fault nothing on Bitstamp's wire reveals."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import pytest

from tests.fakes.binance import FakeBinance
from tests.fakes.bitstamp import FakeBitstamp
from tests.fakes.harness import Market, books, eventually, live_market, stays_fresh

SYMBOLS = ["BTC-USD", "ETH-USD", "SOL-USD"]
WATCH = {"bitstamp": SYMBOLS, "binance": ["BTC-USDT"]}


def fakes() -> tuple[FakeBitstamp, FakeBinance]:
    bitstamp = FakeBitstamp(books(("BTC-USD", "60000"), ("ETH-USD", "3000"), ("SOL-USD", "150"), seed=21))
    return bitstamp, FakeBinance(books(("BTC-USDT", "60010"), seed=22))


@contextlib.asynccontextmanager
async def binance_stays_fresh(market: Market) -> AsyncIterator[None]:
    """Sample the neighbour's book while the fault runs: it must never go stale, nor reconnect."""
    await market.in_sync("binance", "BTC-USDT")
    async with stays_fresh(market, within_ms=1000):
        yield
    assert market.connectors["binance"].stats.reconnects == 0


async def test_stored_books_equal_the_true_books() -> None:
    bitstamp, binance = fakes()
    async with live_market([bitstamp, binance], WATCH) as market:
        for symbol in SYMBOLS:
            stored = await market.in_sync("bitstamp", symbol)
            assert stored.meta["checksum_ok"] is None  # no checksum on Bitstamp: nothing claimed
            assert stored.meta["exchange_symbol"] == symbol.replace("-", "").lower()
            assert stored.meta["seq_id"] == bitstamp.micro[symbol]  # the microtimestamp
            assert len(stored.bids) == len(stored.asks) == 25
        # the snapshots lagged the stream and the cached events filled the difference
        assert bitstamp.stats["snapshot_requests"] == len(SYMBOLS)
        assert bitstamp.subscribed_symbols == set(SYMBOLS)
        assert bitstamp.stats["not_found"] == 0
        assert market.connectors["bitstamp"].stats.failures == {}


async def test_a_lost_diff_event_is_invisible_on_bitstamps_wire() -> None:
    """The known limit: no sequence, no checksum. The wrong book stays 'healthy' until
    something else (a reconnect, a silence) resyncs it."""
    bitstamp, binance = fakes()
    async with live_market([bitstamp, binance], WATCH) as market:
        await market.in_sync("bitstamp", "BTC-USD")
        bitstamp.pause()
        book = bitstamp.books["BTC-USD"]
        third_bid = book.sorted_bids()[2][0]
        bitstamp.inject_gap("BTC-USD")
        await bitstamp.step("BTC-USD", [("bids", third_bid, Decimal(0))])
        await bitstamp.step("BTC-USD", [("asks", book.sorted_asks()[1][0], Decimal("1.5"))])
        await eventually(lambda: market.book("bitstamp", "BTC-USD").asks[1][1] == 1.5, "next event")  # type: ignore[union-attr]
        stored = market.book("bitstamp", "BTC-USD")
        assert stored is not None and stored.is_healthy and stored.meta["checksum_ok"] is None
        assert float(third_bid) in [price for price, _ in stored.bids]
        assert market.connectors["bitstamp"].stats.failures == {}

        await bitstamp.drop_connections()  # any resync repairs it
        bitstamp.resume()  # ccxt fetches the snapshot only once diff events arrive
        await eventually(lambda: market.store.marked("bitstamp", "BTC-USD", "connection lost"), "resyncing")
        stored = await market.in_sync("bitstamp", "BTC-USD")
        assert float(third_bid) not in [price for price, _ in stored.bids]


async def failed_snapshots(market: Market, fake: FakeBitstamp) -> None:
    # ccxt's three tries for each of the three books, after a reconnect re-snapshots them all
    fake.fail_snapshots(9, status=500)
    await fake.drop_connections()
    await eventually(lambda: market.store.marked("bitstamp", "ETH-USD", "connection lost"), "flagged")
    await eventually(lambda: fake.stats["snapshot_failed_500"] == 9, "snapshots failed")
    # a book whose snapshot failed for good waits for the connector's paced resync
    await eventually(lambda: market.connectors["bitstamp"].stats.failures["snapshot"] >= 1, "counted")


async def malformed(market: Market, fake: FakeBitstamp) -> None:
    await fake.send_malformed()
    await eventually(lambda: market.store.marked("bitstamp", "ETH-USD", "connection lost"), "flagged")
    assert market.connectors["bitstamp"].stats.reconnect_reasons["error"] >= 1


async def stall(market: Market, fake: FakeBitstamp) -> None:
    fake.stall()
    await eventually(lambda: market.store.marked("bitstamp", "ETH-USD", "connection lost"), "flagged")
    fake.unstall()


async def drop(market: Market, fake: FakeBitstamp) -> None:
    fake.refuse_connections(2)
    await fake.drop_connections()
    await eventually(lambda: market.store.marked("bitstamp", "ETH-USD", "connection lost"), "flagged")
    await eventually(lambda: fake.stats["refused"] == 2, "handshakes refused")


async def silent_book(market: Market, fake: FakeBitstamp) -> None:
    subscribes = fake.stats["subscribes"]
    fake.mute("ETH-USD")
    await eventually(lambda: market.store.marked("bitstamp", "ETH-USD", "no update"), "flagged")
    await eventually(lambda: fake.stats["subscribes"] > subscribes, "resubscribed")
    fake.unmute("ETH-USD")
    await market.in_sync("bitstamp", "ETH-USD")
    assert market.connectors["bitstamp"].stats.reconnects == 0  # the neighbours kept streaming
    assert not market.store.marked("bitstamp", "BTC-USD")


async def reconnect_request(market: Market, fake: FakeBitstamp) -> None:
    connections = fake.stats["connections"]
    await fake.request_reconnect(grace_sec=1.0)
    await eventually(lambda: market.store.marked("bitstamp", "ETH-USD", "connection lost (error)"), "flagged")
    await eventually(lambda: fake.stats["connections"] > connections, "reconnected")
    lost = market.connectors["bitstamp"].stats.reconnect_reasons
    assert lost["error"] >= 1 and lost["closed"] == 0  # left on the notice, not cut off
    await asyncio.sleep(1.2)
    assert fake.stats["cut_after_request"] == 0


Fault = Callable[[Market, FakeBitstamp], Awaitable[None]]


@pytest.mark.parametrize(
    ("fault", "connector"),
    [
        (failed_snapshots, {}),
        (malformed, {"silence_sec": 60, "min_silence_sec": 60}),  # only the frame itself can trigger it
        (stall, {"silence_sec": 0.6}),
        (drop, {}),
        (silent_book, {"book_silence_sec": 0.6}),
        (reconnect_request, {"silence_sec": 60, "min_silence_sec": 60}),  # the notice, not a silence
    ],
    ids=lambda f: getattr(f, "__name__", ""),
)
async def test_fault_marks_unhealthy_then_recovers_exactly(fault: Fault, connector: dict[str, float]) -> None:
    bitstamp, binance = fakes()
    async with live_market([bitstamp, binance], WATCH, connector=connector) as market:
        for symbol in SYMBOLS:
            await market.in_sync("bitstamp", symbol)
        async with binance_stays_fresh(market):
            await fault(market, bitstamp)
            for symbol in SYMBOLS:
                stored = await market.in_sync("bitstamp", symbol)
                assert stored.is_healthy and stored.meta["checksum_ok"] is None
        assert market.runner.restarts == 0
