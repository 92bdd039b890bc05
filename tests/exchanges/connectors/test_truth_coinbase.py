"""Coinbase through the real connector against its protocol-faithful fake: the stored books
are the true ones, and every fault the protocol allows (a lost message, which only
sequence_num reveals; a malformed frame; a stall; a dropped or refused connection; one
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
from tests.fakes.coinbase import FakeCoinbase
from tests.fakes.harness import Market, books, eventually, live_market, stays_fresh

SYMBOLS = ["BTC-USD", "ETH-USD", "SOL-USD"]
WATCH = {"coinbase": SYMBOLS, "binance": ["BTC-USDT"]}


def fakes() -> tuple[FakeCoinbase, FakeBinance]:
    coinbase = FakeCoinbase(books(("BTC-USD", "60000"), ("ETH-USD", "3000"), ("SOL-USD", "150"), seed=11))
    return coinbase, FakeBinance(books(("BTC-USDT", "60010"), seed=12))


@contextlib.asynccontextmanager
async def binance_stays_fresh(market: Market) -> AsyncIterator[None]:
    """Sample the neighbour's book while the fault runs: it must never go stale, nor reconnect."""
    await market.in_sync("binance", "BTC-USDT")
    async with stays_fresh(market, within_ms=1000):
        yield
    assert market.connectors["binance"].stats.reconnects == 0


async def test_stored_books_equal_the_true_books() -> None:
    coinbase, binance = fakes()
    async with live_market([coinbase, binance], WATCH) as market:
        for symbol in SYMBOLS:
            stored = await market.in_sync("coinbase", symbol)
            assert stored.meta["checksum_ok"] is None  # Coinbase sends no checksum: nothing claimed
            assert stored.meta["exchange_symbol"] == symbol
            assert isinstance(stored.meta["seq_id"], int) and stored.meta["seq_id"] > 0
            assert len(stored.bids) == len(stored.asks) == 25
            assert stored.ts_event > 1_600_000_000_000
        assert coinbase.subscribed_symbols == set(SYMBOLS)
        # heartbeats keep quiet channels open and the sequence moving
        assert {conn.id for conn in coinbase.connections} <= coinbase.heartbeats
        assert coinbase.stats["not_found"] == 0
        assert market.connectors["coinbase"].stats.failures == {}


async def test_a_lost_message_is_invisible_to_ccxt_alone_and_caught_by_sequence_num() -> None:
    plain_ccxt = ExchangeAdapter(ccxt.pro.coinbase, registry.get("coinbase"))
    for adapters in ({"coinbase": plain_ccxt}, {}):
        coinbase, binance = fakes()
        async with live_market([coinbase, binance], WATCH, adapters=adapters) as market:
            await market.in_sync("coinbase", "BTC-USD")
            coinbase.pause()
            book = coinbase.books["BTC-USD"]
            third_bid = book.sorted_bids()[2][0]
            coinbase.inject_gap("BTC-USD")  # this change never reaches the client
            await coinbase.step("BTC-USD", [("bids", third_bid, Decimal(0))])
            await coinbase.step("BTC-USD", [("asks", book.sorted_asks()[1][0], Decimal("1.5"))])
            if adapters:
                # ccxt applies the next update and serves a wrong book as healthy
                await eventually(lambda: market.book("coinbase", "BTC-USD").asks[1][1] == 1.5, "next update")  # type: ignore[union-attr]
                stored = market.book("coinbase", "BTC-USD")
                assert stored is not None and stored.is_healthy
                assert float(third_bid) in [price for price, _ in stored.bids]
                assert not market.matches_truth("coinbase", "BTC-USD")
            else:
                await eventually(lambda: market.store.marked("coinbase", "BTC-USD", "sequence"), "gap caught")
                coinbase.resume()
                stored = await market.in_sync("coinbase", "BTC-USD")
                assert float(third_bid) not in [price for price, _ in stored.bids]


async def gap(market: Market, fake: FakeCoinbase) -> None:
    fake.inject_gap("ETH-USD")
    # sequence_num is per connection: the lost message could have been any book's
    for symbol in SYMBOLS:
        await eventually(lambda s=symbol: market.store.marked("coinbase", s, "sequence"), f"{symbol} flagged")  # type: ignore[misc]
    assert market.connectors["coinbase"].stats.failures["sequence"] == len(SYMBOLS)


async def malformed(market: Market, fake: FakeCoinbase) -> None:
    await fake.send_malformed()
    await eventually(lambda: market.store.marked("coinbase", "ETH-USD", "connection lost"), "flagged")
    assert market.connectors["coinbase"].stats.reconnect_reasons["error"] == 1


async def stall(market: Market, fake: FakeCoinbase) -> None:
    fake.stall()
    await eventually(lambda: market.store.marked("coinbase", "ETH-USD", "connection lost (silence)"), "flagged")
    fake.unstall()


async def drop(market: Market, fake: FakeCoinbase) -> None:
    fake.refuse_connections(2)
    await fake.drop_connections()
    await eventually(lambda: market.store.marked("coinbase", "ETH-USD", "connection lost"), "flagged")
    await eventually(lambda: fake.stats["refused"] == 2, "handshakes refused")


async def silent_book(market: Market, fake: FakeCoinbase) -> None:
    subscribes = fake.stats["subscribes"]
    fake.mute("ETH-USD")
    await eventually(lambda: market.store.marked("coinbase", "ETH-USD", "no update"), "flagged")
    await eventually(lambda: fake.stats["subscribes"] > subscribes, "resubscribed for a snapshot")
    assert market.connectors["coinbase"].stats.reconnects == 0
    fake.unmute("ETH-USD")


Fault = Callable[[Market, FakeCoinbase], Awaitable[None]]


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
    coinbase, binance = fakes()
    async with live_market([coinbase, binance], WATCH, connector=connector) as market:
        for symbol in SYMBOLS:
            await market.in_sync("coinbase", symbol)
        async with binance_stays_fresh(market):
            await fault(market, coinbase)
            assert not market.book("coinbase", "ETH-USD").is_healthy  # type: ignore[union-attr]
            for symbol in SYMBOLS:
                stored = await market.in_sync("coinbase", symbol)
                assert stored.is_healthy and stored.meta["checksum_ok"] is None
        assert market.runner.restarts == 0
