"""Bitget end to end: the real connector against a fake Bitget speaking the v2 `books`
protocol stores books equal to the exchange's true ones, and every fault the protocol
allows (a lost update, a wrong checksum, an unreadable frame, a stall, a dropped
connection) flags the book, then brings it back healthy and exact, while Binance next to
it stays fresh.

Bitget sends no REST snapshot on this path (so no snapshot errors): the snapshot comes on
the socket. Its CRC32 over the top 25 levels is what vouches for a book; `seq` only orders
messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import partial
from typing import Any

import aiohttp
import orjson
import pytest

from exchanges.connectors.exchanges.bitget import bitget_checksum
from tests.fakes.binance import FakeBinance
from tests.fakes.bitget import FakeBitget
from tests.fakes.bitget import bitget_checksum as exchange_bitget_checksum
from tests.fakes.harness import Market, books, eventually, live_market, stays_fresh

SYMBOLS = ["BTC-USDT", "ETH-USDT", "SOL-USDT"]
WATCH = {"bitget": SYMBOLS, "binance": ["BTC-USDT"]}


def fakes() -> tuple[FakeBitget, FakeBinance]:
    # a lot of 0.0001 prints sizes as "0.1230": the padded strings the checksum is over
    bitget = FakeBitget(
        books(("BTC-USDT", "60000"), ("ETH-USDT", "3000"), ("SOL-USDT", "150"), seed=21, tick="0.01", lot="0.0001")
    )
    return bitget, FakeBinance(books(("BTC-USDT", "60005"), seed=22))


def test_checksum_matches_the_exchanges_over_padded_strings() -> None:
    bids = [("3366.10", "7.0000"), ("3366.00", "6.5000")]
    asks = [("3366.80", "9.0000"), ("3368.00", "8.0000"), ("3372.00", "0.0100")]
    assert bitget_checksum(bids, asks) == exchange_bitget_checksum(bids, asks)
    assert bitget_checksum(bids, asks) != bitget_checksum([("3366.1", "7"), ("3366", "6.5")], asks)  # strings matter
    deep = [(str(1000 - i), "1") for i in range(30)]
    assert bitget_checksum(deep, asks) == bitget_checksum(deep[:25] + [("1", "9")] * 5, asks)  # top 25 only


async def test_stored_books_equal_the_true_books_with_their_checksum_verified() -> None:
    bitget, binance = fakes()
    async with live_market([bitget, binance], WATCH) as market:
        for symbol in SYMBOLS:
            stored = await market.in_sync("bitget", symbol)
            assert stored.meta["checksum_ok"] is True
            assert stored.meta["exchange_symbol"] == symbol.replace("-", "")
        bitget.pause()
        try:
            for symbol in SYMBOLS:
                await eventually(partial(market.matches_truth, "bitget", symbol), f"{symbol} exact")
                book = market.book("bitget", symbol)
                assert book is not None and book.meta["seq_id"] == bitget.seqs[symbol]
        finally:
            bitget.resume()
        assert not market.store.marks
        assert bitget.stats["subscribes"] == 3 and bitget.stats["errors_sent"] == 0


async def lost_update(market: Market, bitget: FakeBitget) -> None:
    bitget.inject_gap("ETH-USDT")  # never arrives; the next update's checksum tells


async def wrong_checksum(market: Market, bitget: FakeBitget) -> None:
    bitget.corrupt_checksum("ETH-USDT")


async def unreadable_frame(market: Market, bitget: FakeBitget) -> None:
    await bitget.send_malformed()


async def stall(market: Market, bitget: FakeBitget) -> None:
    bitget.stall()
    await eventually(lambda: market.store.marked("bitget", "ETH-USDT", "silence"), "stall noticed")
    bitget.unstall()


async def dropped_connection(market: Market, bitget: FakeBitget) -> None:
    # While the client is away a level is removed: the snapshot after the reconnect must
    # replace the old book, not be laid over it (ccxt lays it over).
    bitget.pause()
    bitget.refuse_connections(2)
    await bitget.drop_connections()
    book = bitget.books["ETH-USDT"]
    await bitget.step("ETH-USDT", [("bids", book.sorted_bids()[3][0], Decimal(0))])
    bitget.resume()


FAULTS: dict[str, tuple[Callable[[Market, FakeBitget], Awaitable[None]], str]] = {
    "gap": (lost_update, "checksum"),
    "checksum": (wrong_checksum, "checksum"),
    "malformed": (unreadable_frame, "connection lost"),
    "stall": (stall, "connection lost (silence)"),
    "drop": (dropped_connection, "connection lost"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_fault_flags_the_book_then_it_is_healthy_and_exact_again(fault: str) -> None:
    inject, reason = FAULTS[fault]
    bitget, binance = fakes()
    connector = {"silence_sec": 0.6, "min_silence_sec": 0.6}
    async with live_market([bitget, binance], WATCH, connector=connector) as market:
        for symbol in SYMBOLS:
            await market.in_sync("bitget", symbol)
        await market.in_sync("binance", "BTC-USDT")
        subscribes = bitget.stats["subscribes"]
        async with stays_fresh(market, "binance", "BTC-USDT") as stale:
            await inject(market, bitget)
            await eventually(lambda: market.store.marked("bitget", "ETH-USDT", reason), f"flagged: {reason}")
            for symbol in SYMBOLS:
                stored = await market.in_sync("bitget", symbol)
                assert stored.meta["checksum_ok"] is True
        assert stale == [], "binance went stale while bitget failed"
        stats = market.connectors["bitget"].stats
        if fault in ("gap", "checksum"):
            assert stats.failures == {"checksum": 1} and stats.reconnects == 0
            assert bitget.stats["subscribes"] == subscribes + 1  # that one book, subscribed once more
            assert not market.store.marked("bitget", "BTC-USDT") and not market.store.marked("bitget", "SOL-USDT")
        else:
            assert stats.reconnects >= 1
        assert market.connectors["binance"].stats.reconnects == 0


async def test_the_fake_answers_like_bitget() -> None:
    """What the connector never provokes: error replies, ping, fixed-depth channels."""
    bitget, _ = fakes()
    await bitget.start()
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{bitget.ws_url}/v2/ws/public") as ws:

            async def ask(request: dict[str, Any] | str) -> Any:
                await ws.send_str(request if isinstance(request, str) else orjson.dumps(request).decode())
                data = (await ws.receive()).data
                return data if data == "pong" else orjson.loads(data)

            assert await ask("ping") == "pong"
            unknown = {"instType": "SPOT", "channel": "books", "instId": "NOPEUSDT"}
            error = await ask({"op": "subscribe", "args": [unknown]})
            assert error["event"] == "error" and error["code"] == 30001 and error["arg"] == unknown
            arg = {"instType": "SPOT", "channel": "books5", "instId": "BTCUSDT"}
            assert await ask({"op": "subscribe", "args": [arg]}) == {"event": "subscribe", "arg": arg}
            snapshot = orjson.loads((await ws.receive()).data)
            assert snapshot["action"] == "snapshot" and len(snapshot["data"][0]["bids"]) == 5
            assert all(len(price.split(".")[1]) == 2 for price, _ in snapshot["data"][0]["asks"])
    finally:
        await bitget.stop()


async def test_one_silent_book_is_resynced_alone_while_the_others_stream() -> None:
    bitget, binance = fakes()
    async with live_market([bitget, binance], WATCH, connector={"book_silence_sec": 0.5}) as market:
        await market.in_sync("bitget", "ETH-USDT")
        bitget.mute("ETH-USDT")  # no update for ETH: a quiet market, or a subscription lost upstream
        await eventually(lambda: market.store.marked("bitget", "ETH-USDT", "no update"), "ETH flagged silent")
        bitget.unmute("ETH-USDT")
        await market.in_sync("bitget", "ETH-USDT")
        stats = market.connectors["bitget"].stats
        assert stats.failures["silence"] >= 1 and stats.reconnects == 0  # the connection was fine
        assert not market.store.marked("bitget", "BTC-USDT")
        assert bitget.stats["subscribes"] > 3  # ETH alone subscribed again for a snapshot
