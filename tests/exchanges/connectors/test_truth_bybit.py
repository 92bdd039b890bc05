"""Bybit end to end: the real connector against a fake Bybit speaking the v5 spot
`orderbook.50` protocol stores books equal to the exchange's true ones, and every fault the
protocol allows (a lost delta, an unreadable frame, a stall, a dropped connection) flags
the book, then brings it back healthy and exact, while Binance next to it stays fresh.

Bybit has no checksum (so `meta.checksum_ok` stays None, and `corrupt_checksum` has
nothing to corrupt) and no REST snapshot (so no snapshot errors): only the update id `u`
vouches for a book, which ccxt ignores and the connector's adapter checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp
import orjson
import pytest

from tests.fakes.binance import FakeBinance
from tests.fakes.bybit import FakeBybit
from tests.fakes.harness import Market, books, eventually, live_market, stays_fresh

SYMBOLS = ["BTC-USDT", "ETH-USDT", "SOL-USDT"]


def fakes() -> tuple[FakeBybit, FakeBinance]:
    bybit = FakeBybit(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000"), ("SOL-USDT", "150"), seed=11))
    return bybit, FakeBinance(books(("BTC-USDT", "60005"), seed=12))


WATCH = {"bybit": SYMBOLS, "binance": ["BTC-USDT"]}


async def test_stored_books_equal_the_true_books_at_the_same_update_id() -> None:
    bybit, binance = fakes()
    async with live_market([bybit, binance], WATCH) as market:
        for symbol in SYMBOLS:
            stored = await market.in_sync("bybit", symbol)
            assert stored.meta["checksum_ok"] is None  # Bybit sends no checksum: nothing claimed
            assert stored.meta["exchange_symbol"] == symbol.replace("-", "")
        bybit.pause()
        try:
            for symbol in SYMBOLS:
                await eventually(partial(market.matches_truth, "bybit", symbol), f"{symbol} exact")
                book = market.book("bybit", symbol)
                assert book is not None and book.meta["seq_id"] == bybit.update_ids[symbol]
        finally:
            bybit.resume()
        assert not market.store.marks
        assert bybit.stats["subscribes"] == 3 and bybit.stats["refused_requests"] == 0


async def lost_delta(market: Market, bybit: FakeBybit) -> None:
    bybit.inject_gap("ETH-USDT")  # the next delta never arrives; the one after skips a `u`


async def unreadable_frame(market: Market, bybit: FakeBybit) -> None:
    await bybit.send_malformed()


async def stall(market: Market, bybit: FakeBybit) -> None:
    bybit.stall()
    await eventually(lambda: market.store.marked("bybit", "ETH-USDT", "silence"), "stall noticed")
    bybit.unstall()


async def dropped_connection(market: Market, bybit: FakeBybit) -> None:
    bybit.refuse_connections(2)
    await bybit.drop_connections()


FAULTS: dict[str, tuple[Callable[[Market, FakeBybit], Awaitable[None]], str]] = {
    "gap": (lost_delta, "sequence"),
    "malformed": (unreadable_frame, "connection lost"),
    "stall": (stall, "connection lost (silence)"),
    "drop": (dropped_connection, "connection lost"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_fault_flags_the_book_then_it_is_healthy_and_exact_again(fault: str) -> None:
    inject, reason = FAULTS[fault]
    bybit, binance = fakes()
    connector = {"silence_sec": 0.6, "min_silence_sec": 0.6}
    async with live_market([bybit, binance], WATCH, connector=connector) as market:
        for symbol in SYMBOLS:
            await market.in_sync("bybit", symbol)
        await market.in_sync("binance", "BTC-USDT")
        async with stays_fresh(market, "binance", "BTC-USDT") as stale:
            await inject(market, bybit)
            await eventually(lambda: market.store.marked("bybit", "ETH-USDT", reason), f"flagged: {reason}")
            for symbol in SYMBOLS:
                await market.in_sync("bybit", symbol)
        assert stale == [], "binance went stale while bybit failed"
        stats = market.connectors["bybit"].stats
        if fault == "gap":
            assert stats.failures == {"sequence": 1} and stats.reconnects == 0
            assert not market.store.marked("bybit", "BTC-USDT") and not market.store.marked("bybit", "SOL-USDT")
            assert bybit.stats["already_subscribed"] == 0  # unsubscribed before subscribing again
        else:
            assert stats.reconnects >= 1
        assert market.connectors["binance"].stats.reconnects == 0


async def test_a_service_restart_snapshot_with_u_1_is_taken_as_the_book() -> None:
    bybit, binance = fakes()
    async with live_market([bybit, binance], WATCH) as market:
        await market.in_sync("bybit", "BTC-USDT")
        bybit.pause()
        bybit.books["BTC-USDT"].random_changes(bybit.rng, 5)  # changes told only by the snapshot
        await bybit.restart_service("BTC-USDT")
        bybit.resume()
        await market.in_sync("bybit", "BTC-USDT")
        assert not market.store.marks  # u = 1 after a snapshot is no gap
        assert market.book("bybit", "BTC-USDT").meta["seq_id"] < 1000  # type: ignore[union-attr]


async def test_the_fake_answers_like_bybit() -> None:
    """What the connector never provokes: error replies, the args limit, ping."""
    bybit, _ = fakes()
    await bybit.start()
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{bybit.ws_url}/v5/public/spot") as ws:

            async def ask(request: dict[str, Any]) -> dict[str, Any]:
                await ws.send_str(orjson.dumps(request).decode())
                reply: dict[str, Any] = orjson.loads((await ws.receive()).data)
                return reply

            pong = await ask({"op": "ping", "req_id": "1"})
            assert pong["success"] is True and pong["ret_msg"] == "pong" and pong["req_id"] == "1"
            unknown = await ask({"op": "subscribe", "req_id": "2", "args": ["orderbook.50.NOPEUSDT"]})
            assert unknown["success"] is False and "Invalid symbol" in unknown["ret_msg"]
            bad_depth = await ask({"op": "subscribe", "req_id": "3", "args": ["orderbook.25.BTCUSDT"]})
            assert bad_depth["success"] is False
            many = await ask({"op": "subscribe", "req_id": "4", "args": ["orderbook.50.BTCUSDT"] * 11})
            assert many["success"] is False and "10" in many["ret_msg"]
            ok = await ask({"op": "subscribe", "req_id": "5", "args": ["orderbook.50.BTCUSDT"]})
            assert ok == {
                "success": True,
                "ret_msg": "subscribe",
                "conn_id": ok["conn_id"],
                "req_id": "5",
                "op": "subscribe",
            }
            snapshot = orjson.loads((await ws.receive()).data)
            assert snapshot["type"] == "snapshot" and snapshot["topic"] == "orderbook.50.BTCUSDT"
            again = await ask({"op": "subscribe", "req_id": "6", "args": ["orderbook.50.BTCUSDT"]})
            assert again["success"] is False and "already subscribed" in again["ret_msg"]
    finally:
        await bybit.stop()


async def test_one_silent_book_is_resynced_alone_while_the_others_stream() -> None:
    bybit, binance = fakes()
    async with live_market([bybit, binance], WATCH, connector={"book_silence_sec": 0.5}) as market:
        await market.in_sync("bybit", "ETH-USDT")
        bybit.mute("ETH-USDT")  # no update for ETH: a quiet market, or a subscription lost upstream
        await eventually(lambda: market.store.marked("bybit", "ETH-USDT", "no update"), "ETH flagged silent")
        bybit.unmute("ETH-USDT")
        await market.in_sync("bybit", "ETH-USDT")
        stats = market.connectors["bybit"].stats
        assert stats.failures["silence"] >= 1 and stats.reconnects == 0  # the connection was fine
        assert not market.store.marked("bybit", "BTC-USDT")
        assert bybit.stats["subscribes"] > 3  # ETH alone subscribed again for a snapshot
