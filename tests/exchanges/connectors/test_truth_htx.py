"""HTX through the real connector against a protocol-faithful fake (tests/fakes/htx.py):
the stored books are HTX's true books, and every fault the market-by-price protocol allows
(a lost increment, an unreadable frame, a stall, a dropped connection, a failed full-book
request, one silent book) flags the book unhealthy, then brings it back exact, while
another exchange's books stay fresh throughout. HTX has no checksum."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from decimal import Decimal

import aiohttp
import ccxt.pro
import orjson
import pytest

from exchanges import registry
from exchanges.connectors.exchanges import ExchangeAdapter
from tests.fakes.binance import FakeBinance
from tests.fakes.harness import Market, books, eventually, live_market, stays_fresh
from tests.fakes.htx import FakeHtx

SYMBOLS = ["BTC-USDT", "ETH-USDT", "SOL-USDT"]


def fakes(ping_interval: float = 5.0) -> tuple[FakeHtx, FakeBinance]:
    htx = FakeHtx(
        books(("BTC-USDT", "60000"), ("ETH-USDT", "3000"), ("SOL-USDT", "150"), seed=5), ping_interval=ping_interval
    )
    binance = FakeBinance(books(("BTC-USDT", "60010"), ("ETH-USDT", "3001"), seed=6))
    return htx, binance


WATCH = {"htx": SYMBOLS, "binance": ["BTC-USDT", "ETH-USDT"]}


async def test_books_equal_the_true_books_with_htx_sequence_numbers() -> None:
    htx, binance = fakes(ping_interval=0.3)
    async with live_market([htx, binance], WATCH) as market:
        for symbol in SYMBOLS:
            stored = await market.in_sync("htx", symbol)
            assert stored.meta["exchange_symbol"] == symbol.replace("-", "").lower()
            assert stored.meta["checksum_ok"] is None  # HTX sends none: nothing verified, nothing claimed
            assert len(stored.bids) == len(stored.asks) == 25
            assert stored.ts_event > 1_600_000_000_000 and stored.meta["lag_ms"] >= 0
        htx.pause()
        await eventually(lambda: market.matches_truth("htx", "BTC-USDT"), "in sync while paused")
        paused = market.book("htx", "BTC-USDT")
        assert paused is not None and paused.meta["seq_id"] == htx.seq_nums["BTC-USDT"]
        htx.resume()
        # one 150-level mbp subscription per book, all on one connection, kept alive by pongs
        assert {sub.channel for conn in htx.connections for sub in conn.subscriptions.values()} == {
            f"market.{s.replace('-', '').lower()}.mbp.150" for s in SYMBOLS
        }
        await asyncio.sleep(1.0)  # a few of the server's pings
        assert htx.stats["connections"] == 1 and htx.stats["closed_for_no_pong"] == 0
        assert htx.stats["errors"] == 0 and market.runner.restarts == 0


async def test_ccxt_alone_stalls_the_connection_on_a_sequence_break() -> None:
    """Why the adapter exists: ccxt 4.5.90 raises out of its message handler, and the
    receive loop it ends leaves the socket open and silent (here the connector's frame
    guard catches it and reconnects every book on the connection)."""
    htx, _ = fakes()
    generic = ExchangeAdapter(ccxt.pro.htx, registry.get("htx"))
    watch = {"htx": ["BTC-USDT", "ETH-USDT"]}
    async with live_market([htx], watch, adapters={"htx": generic}) as market:
        await market.in_sync("htx", "BTC-USDT")
        await market.in_sync("htx", "ETH-USDT")
        htx.pause()
        htx.inject_gap("BTC-USDT")
        await htx.step("BTC-USDT", [("bids", htx.books["BTC-USDT"].sorted_bids()[2][0], Decimal(0))])
        await htx.step("BTC-USDT", [("asks", htx.books["BTC-USDT"].sorted_asks()[1][0], Decimal("1.5"))])
        await eventually(lambda: market.store.marked("htx", "ETH-USDT", "connection lost"), "neighbour dropped too")
        htx.resume()


async def lost_increment(market: Market, htx: FakeHtx) -> None:
    htx.inject_gap("BTC-USDT")


async def unreadable_frame(market: Market, htx: FakeHtx) -> None:
    await htx.send_malformed()


async def stall(market: Market, htx: FakeHtx) -> None:
    htx.stall()
    await eventually(lambda: not market.book("htx", "BTC-USDT").is_healthy, "flagged while stalled")  # type: ignore[union-attr]
    await asyncio.sleep(1.0)
    htx.unstall()


async def dropped_connection(market: Market, htx: FakeHtx) -> None:
    htx.refuse_connections(2)
    await htx.drop_connections()


async def failed_snapshot(market: Market, htx: FakeHtx) -> None:
    htx.fail_snapshots(2)  # the next two full-book requests: "request limit"
    htx.inject_gap("BTC-USDT")


async def silent_book(market: Market, htx: FakeHtx) -> None:
    htx.mute("BTC-USDT")
    await eventually(lambda: market.store.marked("htx", "BTC-USDT", "no update"), "silence noticed")
    htx.unmute("BTC-USDT")


Fault = Callable[[Market, FakeHtx], Awaitable[None]]


@pytest.mark.parametrize(
    ("fault", "reason", "kind"),
    [
        (lost_increment, "sequence", "sequence"),
        (unreadable_frame, "connection lost", None),
        (stall, "connection lost", None),
        (dropped_connection, "connection lost", None),
        (failed_snapshot, "sequence", "snapshot"),
        (silent_book, "no update", "silence"),
    ],
    ids=["gap", "malformed", "stall", "drop", "snapshot-error", "silent-book"],
)
async def test_fault_flags_the_book_then_it_is_exact_again(fault: Fault, reason: str, kind: str | None) -> None:
    htx, binance = fakes()
    connector = {"book_silence_sec": 1.0} if fault is silent_book else {}
    async with live_market([htx, binance], WATCH, connector=connector) as market:
        await market.in_sync("binance", "BTC-USDT")
        for symbol in SYMBOLS:
            await market.in_sync("htx", symbol)
        requests = htx.stats["snapshot_requests"]
        async with stays_fresh(market):
            await fault(market, htx)
            await eventually(lambda: market.store.marked("htx", "BTC-USDT", reason), f"flagged: {reason}")
            stored = await market.in_sync("htx", "BTC-USDT")
            assert stored.is_healthy and stored.meta["checksum_ok"] is None
            for symbol in SYMBOLS[1:]:
                await market.in_sync("htx", symbol)
        stats = market.connectors["htx"].stats
        if kind is not None:
            assert stats.failures[kind] >= 1
        assert htx.stats["snapshot_requests"] > requests  # a fresh full book was requested
        if fault in (lost_increment, silent_book, failed_snapshot):
            # one book resynced on the live connection, its neighbours untouched
            assert stats.reconnects == 0
            assert not market.store.marked("htx", "ETH-USDT") and not market.store.marked("htx", "SOL-USDT")
        if fault is failed_snapshot:
            assert htx.stats["snapshot_failed"] == 2
        assert market.connectors["binance"].stats.reconnects == 0
        assert market.runner.restarts == 0


async def test_the_fake_speaks_gzip_pings_and_refuses_unknown_topics() -> None:
    htx, _ = fakes(ping_interval=0.1)
    await htx.start()
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{htx.ws_url}/feed") as ws:

            async def receive() -> dict[str, object]:
                frame = await ws.receive()
                assert frame.type == aiohttp.WSMsgType.BINARY  # every server frame is gzip
                message: dict[str, object] = orjson.loads(gzip.decompress(frame.data))
                return message

            await ws.send_json({"sub": "market.foousdt.mbp.150", "id": "1"})
            assert (await receive())["err-code"] == "bad-request"
            ping = await receive()  # nothing subscribed: the next frame is the heartbeat
            assert isinstance(ping["ping"], int)
            await ws.send_json({"pong": ping["ping"]})
            await ws.send_json({"req": "market.btcusdt.mbp.150", "id": "2"})
            snapshot = await receive()
            assert snapshot["rep"] == "market.btcusdt.mbp.150" and snapshot["status"] == "ok"
            # two pings left unanswered: HTX closes the connection
            while (frame := await asyncio.wait_for(ws.receive(), 2)).type == aiohttp.WSMsgType.BINARY:
                pass
            assert frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert htx.stats["closed_for_no_pong"] == 1
    finally:
        await htx.stop()
