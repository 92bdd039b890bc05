"""Gemini through the real connector against its protocol-faithful fake: the stored books
are the true ones, and every fault the protocol allows (a lost message, which only
socket_sequence reveals; a malformed frame; a stall; a dropped or refused connection; one
silent book) marks the book unhealthy, then healthy and exact again, while binance next
to it stays fresh."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import ccxt.pro
import pytest

from exchanges import registry
from exchanges.connectors.exchanges import ExchangeAdapter
from tests.fakes.binance import FakeBinance
from tests.fakes.gemini import FakeGemini
from tests.fakes.harness import Market, books, eventually, live_market, stays_fresh

SYMBOLS = ["BTC-USD", "ETH-USD", "SOL-USD"]
WATCH = {"gemini": SYMBOLS, "binance": ["BTC-USDT"]}


def fakes() -> tuple[FakeGemini, FakeBinance]:
    specs = (("BTC-USD", "60000"), ("ETH-USD", "3000"), ("SOL-USD", "150"))
    gemini = FakeGemini(books(*specs, seed=31), heartbeat_sec=0.5)  # heartbeats share the sequence
    return gemini, FakeBinance(books(("BTC-USDT", "60010"), seed=32))


@contextlib.asynccontextmanager
async def binance_stays_fresh(market: Market) -> AsyncIterator[None]:
    """Sample the neighbour's book while the fault runs: it must never go stale, nor reconnect."""
    await market.in_sync("binance", "BTC-USDT")
    async with stays_fresh(market, within_ms=1000):
        yield
    assert market.connectors["binance"].stats.reconnects == 0


async def test_stored_books_equal_the_true_books() -> None:
    gemini, binance = fakes()
    async with live_market([gemini, binance], WATCH) as market:
        for symbol in SYMBOLS:
            stored = await market.in_sync("gemini", symbol)
            assert stored.meta["checksum_ok"] is None  # Gemini sends no checksum: nothing claimed
            assert stored.meta["exchange_symbol"] == symbol.replace("-", "").lower()
            assert isinstance(stored.meta["seq_id"], int) and stored.meta["seq_id"] <= gemini.event_id  # eventId
            assert len(stored.bids) == len(stored.asks) == 25
            assert stored.ts_event > 1_600_000_000_000
        assert gemini.subscribed_symbols == set(SYMBOLS)
        # heartbeats take socket_sequence numbers too: no false gap from them
        await eventually(lambda: gemini.stats["heartbeats"] >= 2, "heartbeats sent")
        await market.in_sync("gemini", "ETH-USD")
        assert gemini.stats["not_found"] == 0
        assert market.connectors["gemini"].stats.failures == {}


async def test_a_lost_message_is_invisible_to_ccxt_alone_and_caught_by_socket_sequence() -> None:
    plain_ccxt = ExchangeAdapter(ccxt.pro.gemini, registry.get("gemini"))
    for adapters in ({"gemini": plain_ccxt}, {}):
        gemini, binance = fakes()
        async with live_market([gemini, binance], WATCH, adapters=adapters) as market:
            await market.in_sync("gemini", "BTC-USD")
            gemini.pause()
            book = gemini.books["BTC-USD"]
            third_bid = book.sorted_bids()[2][0]
            gemini.inject_gap("BTC-USD")  # this change never reaches the client
            await gemini.step("BTC-USD", [("bids", third_bid, Decimal(0))])
            await gemini.step("BTC-USD", [("asks", book.sorted_asks()[1][0], Decimal("1.5"))])
            if adapters:
                # ccxt applies the next update and serves a wrong book as healthy
                await eventually(lambda: market.book("gemini", "BTC-USD").asks[1][1] == 1.5, "next update")  # type: ignore[union-attr]
                stored = market.book("gemini", "BTC-USD")
                assert stored is not None and stored.is_healthy
                assert float(third_bid) in [price for price, _ in stored.bids]
                assert not market.matches_truth("gemini", "BTC-USD")
            else:
                await eventually(lambda: market.store.marked("gemini", "BTC-USD", "sequence"), "gap caught")
                gemini.resume()
                stored = await market.in_sync("gemini", "BTC-USD")
                assert float(third_bid) not in [price for price, _ in stored.bids]


async def test_a_new_connection_replaces_the_book_instead_of_merging_into_the_old_one() -> None:
    plain_ccxt = ExchangeAdapter(ccxt.pro.gemini, registry.get("gemini"))
    for adapters in ({"gemini": plain_ccxt}, {}):
        gemini, binance = fakes()
        async with live_market([gemini, binance], WATCH, adapters=adapters) as market:
            await market.in_sync("gemini", "BTC-USD")
            gemini.pause()
            book = gemini.books["BTC-USD"]
            third_bid = book.sorted_bids()[2][0]
            await gemini.drop_connections()
            del book.bids[third_bid]  # gone while nobody listens: only the next initial book says so
            await eventually(lambda: market.store.marked("gemini", "BTC-USD", "connection lost"), "dropped")
            await eventually(lambda: market.book("gemini", "BTC-USD").is_healthy, "reconnected")  # type: ignore[union-attr]
            stored = market.book("gemini", "BTC-USD")
            assert stored is not None
            if adapters:
                # ccxt alone applies the initial events on top of its old book: a stale level
                assert float(third_bid) in [price for price, _ in stored.bids]
                assert not market.matches_truth("gemini", "BTC-USD")
            else:
                assert float(third_bid) not in [price for price, _ in stored.bids]
                assert market.matches_truth("gemini", "BTC-USD")


async def gap(market: Market, fake: FakeGemini) -> None:
    fake.inject_gap("ETH-USD")
    # socket_sequence is per connection: the lost message could have been any book's
    for symbol in SYMBOLS:
        await eventually(lambda s=symbol: market.store.marked("gemini", s, "sequence"), f"{symbol} flagged")  # type: ignore[misc]
    assert market.connectors["gemini"].stats.failures["sequence"] == len(SYMBOLS)


async def malformed(market: Market, fake: FakeGemini) -> None:
    await fake.send_malformed()
    await eventually(lambda: market.store.marked("gemini", "ETH-USD", "connection lost"), "flagged")
    assert market.connectors["gemini"].stats.reconnect_reasons["error"] == 1


async def stall(market: Market, fake: FakeGemini) -> None:
    fake.stall()
    await eventually(lambda: market.store.marked("gemini", "ETH-USD", "connection lost (silence)"), "flagged")
    fake.unstall()


async def drop(market: Market, fake: FakeGemini) -> None:
    fake.refuse_connections(2)
    await fake.drop_connections()
    await eventually(lambda: market.store.marked("gemini", "ETH-USD", "connection lost"), "flagged")
    await eventually(lambda: fake.stats["refused"] == 2, "handshakes refused")


async def silent_book(market: Market, fake: FakeGemini) -> None:
    connections = fake.stats["connections"]
    fake.mute("ETH-USD")
    await eventually(lambda: market.store.marked("gemini", "ETH-USD", "no update"), "flagged")
    # the symbols are in the connection's URL: the batch's connection is rebuilt
    await eventually(lambda: fake.stats["connections"] > connections, "reconnected for an initial book")
    fake.unmute("ETH-USD")


Fault = Callable[[Market, FakeGemini], Awaitable[None]]


# The silence limits are the fast harness's, but one book's limit is short where one book
# goes silent, and the whole connection's is where the whole connection does.
@pytest.mark.parametrize(
    ("fault", "connector"),
    [
        (gap, {}),
        (malformed, {"silence_sec": 60, "min_silence_sec": 60}),  # only the frame itself can trigger the reconnect
        (stall, {"silence_sec": 0.6}),
        (drop, {}),
        (silent_book, {"book_silence_sec": 0.6}),
    ],
    ids=lambda f: getattr(f, "__name__", ""),
)
async def test_fault_marks_unhealthy_then_recovers_exactly(fault: Fault, connector: dict[str, float]) -> None:
    gemini, binance = fakes()
    async with live_market([gemini, binance], WATCH, connector=connector) as market:
        for symbol in SYMBOLS:
            await market.in_sync("gemini", symbol)
        async with binance_stays_fresh(market):
            await fault(market, gemini)
            assert not market.book("gemini", "ETH-USD").is_healthy  # type: ignore[union-attr]
            for symbol in SYMBOLS:
                stored = await market.in_sync("gemini", symbol)
                assert stored.is_healthy and stored.meta["checksum_ok"] is None
        assert market.runner.restarts == 0
