"""KuCoin end to end: the real connector against a fake KuCoin speaking the classic spot
`/market/level2` protocol (deltas on the socket, the snapshot over REST) stores books
equal to the exchange's true ones, and every fault the protocol allows (a lost delta, a
failing snapshot, an unreadable frame, a stall, a dropped connection) flags the book, then
brings it back healthy and exact, while Binance next to it stays fresh.

KuCoin sends no checksum, so `meta.checksum_ok` stays None and `corrupt_checksum` has
nothing to corrupt: the sequences vouch for a book, which ccxt does not check follow on
and the connector's adapter does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp
import orjson
import pytest

from tests.fakes.binance import FakeBinance
from tests.fakes.harness import Market, books, eventually, live_market, stays_fresh
from tests.fakes.kucoin import FakeKucoin

SYMBOLS = ["BTC-USDT", "ETH-USDT", "SOL-USDT"]
WATCH = {"kucoin": SYMBOLS, "binance": ["BTC-USDT"]}


def fakes() -> tuple[FakeKucoin, FakeBinance]:
    kucoin = FakeKucoin(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000"), ("SOL-USDT", "150"), seed=31))
    return kucoin, FakeBinance(books(("BTC-USDT", "60005"), seed=32))


async def test_stored_books_equal_the_true_books_at_the_same_sequence() -> None:
    kucoin, binance = fakes()
    async with live_market([kucoin, binance], WATCH) as market:
        for symbol in SYMBOLS:
            stored = await market.in_sync("kucoin", symbol)
            assert stored.meta["checksum_ok"] is None  # KuCoin sends no checksum: nothing claimed
            assert stored.meta["exchange_symbol"] == symbol
        kucoin.pause()
        try:
            for symbol in SYMBOLS:
                await eventually(partial(market.matches_truth, "kucoin", symbol), f"{symbol} exact")
                book = market.book("kucoin", symbol)
                assert book is not None and book.meta["seq_id"] == kucoin.sequences[symbol]
        finally:
            kucoin.resume()
        assert not market.store.marks
        assert kucoin.stats["snapshots_served"] == 3 and kucoin.stats["errors_sent"] == 0


async def lost_delta(market: Market, kucoin: FakeKucoin) -> None:
    kucoin.inject_gap("ETH-USDT")  # never arrives; the next delta's sequenceStart skips


async def failing_snapshots(market: Market, kucoin: FakeKucoin) -> None:
    # the resync after a lost delta needs a snapshot, and the first three attempts fail
    # (ccxt tries three times, then gives up on the connection, which is rebuilt)
    kucoin.fail_snapshots(3, status=500)
    kucoin.inject_gap("ETH-USDT")


async def unreadable_frame(market: Market, kucoin: FakeKucoin) -> None:
    await kucoin.send_malformed()


async def stall(market: Market, kucoin: FakeKucoin) -> None:
    kucoin.stall()
    await eventually(lambda: market.store.marked("kucoin", "ETH-USDT", "silence"), "stall noticed")
    kucoin.unstall()


async def dropped_connection(market: Market, kucoin: FakeKucoin) -> None:
    kucoin.refuse_connections(2)
    await kucoin.drop_connections()


FAULTS: dict[str, tuple[Callable[[Market, FakeKucoin], Awaitable[None]], str]] = {
    "gap": (lost_delta, "sequence"),
    "snapshot_error": (failing_snapshots, "sequence"),
    "malformed": (unreadable_frame, "connection lost"),
    "stall": (stall, "connection lost (silence)"),
    "drop": (dropped_connection, "connection lost"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_fault_flags_the_book_then_it_is_healthy_and_exact_again(fault: str) -> None:
    inject, reason = FAULTS[fault]
    kucoin, binance = fakes()
    connector = {"silence_sec": 0.6, "min_silence_sec": 0.6}
    async with live_market([kucoin, binance], WATCH, connector=connector) as market:
        for symbol in SYMBOLS:
            await market.in_sync("kucoin", symbol)
        await market.in_sync("binance", "BTC-USDT")
        snapshots = kucoin.stats["snapshots_served"]
        async with stays_fresh(market, "binance", "BTC-USDT") as stale:
            await inject(market, kucoin)
            await eventually(lambda: market.store.marked("kucoin", "ETH-USDT", reason), f"flagged: {reason}")
            for symbol in SYMBOLS:
                await market.in_sync("kucoin", symbol)
        assert stale == [], "binance went stale while kucoin failed"
        stats = market.connectors["kucoin"].stats
        if fault == "gap":
            assert stats.failures == {"sequence": 1} and stats.reconnects == 0
            assert kucoin.stats["snapshots_served"] == snapshots + 1  # that one book, from REST
            assert not market.store.marked("kucoin", "BTC-USDT") and not market.store.marked("kucoin", "SOL-USDT")
        elif fault == "snapshot_error":
            assert stats.failures["sequence"] == 1 and stats.failures["snapshot"] == 1
            assert kucoin.stats["snapshot_failed_500"] == 3
        else:
            assert stats.reconnects >= 1
        assert market.connectors["binance"].stats.reconnects == 0


async def test_the_fake_answers_like_kucoin() -> None:
    """What the connector never provokes: error replies, the per-topic limit, ping."""
    kucoin, _ = fakes()
    await kucoin.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{kucoin.http_url}/api/v1/bullet-public") as response:
                bullet = (await response.json())["data"]
            server = bullet["instanceServers"][0]
            url = f"{server['endpoint']}?token={bullet['token']}&connectId=abc"
            async with session.ws_connect(url) as ws:
                assert orjson.loads((await ws.receive()).data)["type"] == "welcome"

                async def ask(request: dict[str, Any]) -> dict[str, Any]:
                    await ws.send_str(orjson.dumps(request).decode())
                    reply: dict[str, Any] = orjson.loads((await ws.receive()).data)
                    return reply

                pong = await ask({"id": "1", "type": "ping"})
                assert pong["type"] == "pong" and pong["id"] == "1"
                error = await ask(
                    {"id": "2", "type": "subscribe", "topic": "/market/level2:NOPE-USDT", "response": True}
                )
                assert error["type"] == "error" and error["code"] == 404 and error["id"] == "2"
                many = ",".join(["BTC-USDT"] * 101)
                limit = await ask({"id": "3", "type": "subscribe", "topic": f"/market/level2:{many}", "response": True})
                assert limit["type"] == "error"
                ok = await ask({"id": "4", "type": "subscribe", "topic": "/market/level2:BTC-USDT", "response": True})
                assert ok == {"id": "4", "type": "ack"}
            async with session.get(f"{kucoin.http_url}/api/v1/market/orderbook/level2_20?symbol=BTC-USDT") as response:
                snapshot = (await response.json())["data"]
            assert len(snapshot["bids"]) == 20 and int(snapshot["sequence"]) == kucoin.sequences["BTC-USDT"]
    finally:
        await kucoin.stop()


async def test_one_silent_book_is_resynced_alone_while_the_others_stream() -> None:
    kucoin, binance = fakes()
    async with live_market([kucoin, binance], WATCH, connector={"book_silence_sec": 0.5}) as market:
        await market.in_sync("kucoin", "ETH-USDT")
        kucoin.mute("ETH-USDT")  # no update for ETH: a quiet market, or a subscription lost upstream
        await eventually(lambda: market.store.marked("kucoin", "ETH-USDT", "no update"), "ETH flagged silent")
        kucoin.unmute("ETH-USDT")
        await market.in_sync("kucoin", "ETH-USDT")
        stats = market.connectors["kucoin"].stats
        assert stats.failures["silence"] >= 1 and stats.reconnects == 0  # the connection was fine
        assert not market.store.marked("kucoin", "BTC-USDT")
        assert kucoin.stats["snapshots_served"] > 3  # ETH alone synced again from a REST snapshot
