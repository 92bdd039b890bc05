"""MEXC through the real connector against a protocol-faithful fake (tests/fakes/mexc.py):
the stored books are MEXC's true books, and every fault the protobuf diff-depth protocol
allows (a lost push, an unreadable frame, a stall, a dropped connection, a failed REST
snapshot, one silent book) flags the book unhealthy, then brings it back exact, while
another exchange's books stay fresh throughout. MEXC has no checksum."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

import aiohttp
import ccxt.pro
import pytest

from exchanges import registry
from exchanges.connectors.exchanges import ExchangeAdapter
from exchanges.connectors.exchanges.mexc import decode_aggre_depths
from tests.fakes.binance import FakeBinance
from tests.fakes.harness import Market, books, eventually, live_market, stays_fresh
from tests.fakes.mexc import FakeMexc, depth_push

SYMBOLS = ["BTC-USDT", "ETH-USDT", "SOL-USDT"]


def fakes() -> tuple[FakeMexc, FakeBinance]:
    mexc = FakeMexc(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000"), ("SOL-USDT", "150"), seed=9))
    binance = FakeBinance(books(("BTC-USDT", "60010"), ("ETH-USDT", "3001"), seed=10))
    return mexc, binance


WATCH = {"mexc": SYMBOLS, "binance": ["BTC-USDT", "ETH-USDT"]}


def test_the_protobuf_push_decodes_as_ccxt_expects_it() -> None:
    channel = "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"
    push = depth_push(channel, "BTCUSDT", 1754741322152, [("117145.49", "0")], [("117053.41", "1.86837271")], 7, 9)
    assert decode_aggre_depths(push) == {
        "channel": channel,
        "symbol": "BTCUSDT",
        "sendTime": "1754741322152",
        "publicAggreDepths": {
            "asks": [{"price": "117145.49", "quantity": "0"}],
            "bids": [{"price": "117053.41", "quantity": "1.86837271"}],
            "eventType": "spot@public.aggre.depth.v3.api.pb@100ms",
            "fromVersion": "7",
            "toVersion": "9",
        },
    }
    with pytest.raises(ValueError):
        decode_aggre_depths(push[:-3])


async def test_books_equal_the_true_books_with_mexc_versions() -> None:
    mexc, binance = fakes()
    keepalive = {"streaming": {"keepAlive": 300}}  # ccxt's PING every 0.3 s, not 8
    async with live_market([mexc, binance], WATCH, ccxt=keepalive) as market:
        for symbol in SYMBOLS:
            stored = await market.in_sync("mexc", symbol)
            assert stored.meta["exchange_symbol"] == symbol.replace("-", "")
            assert stored.meta["checksum_ok"] is None  # MEXC sends none: nothing verified, nothing claimed
            assert len(stored.bids) == len(stored.asks) == 25
            assert stored.ts_event > 1_600_000_000_000 and stored.meta["lag_ms"] >= 0
        mexc.pause()
        await eventually(lambda: market.matches_truth("mexc", "BTC-USDT"), "in sync while paused")
        paused = market.book("mexc", "BTC-USDT")
        assert paused is not None and paused.meta["seq_id"] == mexc.versions["BTC-USDT"]
        mexc.resume()
        assert {sub.channel for conn in mexc.connections for sub in conn.subscriptions.values()} == {
            f"spot@public.aggre.depth.v3.api.pb@100ms@{s.replace('-', '')}" for s in SYMBOLS
        }
        await asyncio.sleep(1.0)  # PINGs answered with PONGs: the connection stays up
        assert mexc.stats["pings"] >= 2
        assert mexc.stats["connections"] == 1 and mexc.stats["errors"] == 0
        assert market.runner.restarts == 0


async def test_ccxt_alone_cannot_read_mexc_spot_books() -> None:
    """Why the adapter exists: ccxt 4.5.90 decodes MEXC's protobuf pushes with Google's
    protobuf package, which is not installed: every push fails in its message handler."""
    mexc, _ = fakes()
    generic = ExchangeAdapter(ccxt.pro.mexc, registry.get("mexc"))
    async with live_market([mexc], {"mexc": ["BTC-USDT"]}, adapters={"mexc": generic}) as market:
        connector = market.connectors["mexc"]
        await eventually(lambda: connector.stats.reconnect_reasons["error"] >= 2, "pushes unreadable, reconnecting")
        assert market.book("mexc", "BTC-USDT") is None and connector.stats.updates == 0


async def lost_push(market: Market, mexc: FakeMexc) -> None:
    mexc.inject_gap("BTC-USDT")


async def unreadable_frame(market: Market, mexc: FakeMexc) -> None:
    await mexc.send_malformed()


async def stall(market: Market, mexc: FakeMexc) -> None:
    mexc.stall()
    await eventually(lambda: not market.book("mexc", "BTC-USDT").is_healthy, "flagged while stalled")  # type: ignore[union-attr]
    await asyncio.sleep(1.0)
    mexc.unstall()


async def dropped_connection(market: Market, mexc: FakeMexc) -> None:
    mexc.refuse_connections(2)
    await mexc.drop_connections()


async def failed_snapshot(market: Market, mexc: FakeMexc) -> None:
    mexc.fail_snapshots(4, status=429)  # more than ccxt's three tries of one fetch
    mexc.inject_gap("BTC-USDT")


async def silent_book(market: Market, mexc: FakeMexc) -> None:
    mexc.mute("BTC-USDT")
    await eventually(lambda: market.store.marked("mexc", "BTC-USDT", "no update"), "silence noticed")
    mexc.unmute("BTC-USDT")


Fault = Callable[[Market, FakeMexc], Awaitable[None]]


@pytest.mark.parametrize(
    ("fault", "reason", "kind"),
    [
        (lost_push, "sequence", "sequence"),
        (unreadable_frame, "connection lost", None),
        (stall, "connection lost", None),
        (dropped_connection, "connection lost", None),
        (failed_snapshot, "sequence", "snapshot"),
        (silent_book, "no update", "silence"),
    ],
    ids=["gap", "malformed", "stall", "drop", "snapshot-error", "silent-book"],
)
async def test_fault_flags_the_book_then_it_is_exact_again(fault: Fault, reason: str, kind: str | None) -> None:
    mexc, binance = fakes()
    connector = {"book_silence_sec": 1.0} if fault is silent_book else {}
    async with live_market([mexc, binance], WATCH, connector=connector) as market:
        await market.in_sync("binance", "BTC-USDT")
        for symbol in SYMBOLS:
            await market.in_sync("mexc", symbol)
        requests = mexc.stats["snapshot_requests"]
        async with stays_fresh(market):
            await fault(market, mexc)
            await eventually(lambda: market.store.marked("mexc", "BTC-USDT", reason), f"flagged: {reason}")
            stored = await market.in_sync("mexc", "BTC-USDT")
            assert stored.is_healthy and stored.meta["checksum_ok"] is None
            for symbol in SYMBOLS[1:]:
                await market.in_sync("mexc", symbol)
        stats = market.connectors["mexc"].stats
        if kind is not None:
            assert stats.failures[kind] >= 1
        assert mexc.stats["snapshot_requests"] > requests  # a fresh snapshot was fetched
        if fault in (lost_push, silent_book, failed_snapshot):
            # one book resynced on the live connection, its neighbours untouched
            assert stats.reconnects == 0
            assert not market.store.marked("mexc", "ETH-USDT") and not market.store.marked("mexc", "SOL-USDT")
        if fault is failed_snapshot:
            assert mexc.stats["snapshot_failed_429"] == 4
        assert market.connectors["binance"].stats.reconnects == 0
        assert market.runner.restarts == 0


async def test_a_lost_push_is_caught_by_its_version_and_the_book_is_right_again() -> None:
    mexc, _ = fakes()
    async with live_market([mexc], {"mexc": ["BTC-USDT"]}) as market:
        await market.in_sync("mexc", "BTC-USDT")
        book = mexc.books["BTC-USDT"]
        mexc.pause()
        mexc.inject_gap("BTC-USDT")
        lost = book.sorted_bids()[2][0]
        await mexc.step("BTC-USDT", [("bids", lost, Decimal(0))])  # never reaches the client
        await mexc.step("BTC-USDT", [("asks", book.sorted_asks()[1][0], Decimal("1.5"))])
        await eventually(lambda: market.store.marked("mexc", "BTC-USDT", "sequence"), "break caught")
        mexc.resume()
        stored = await market.in_sync("mexc", "BTC-USDT")
        assert lost not in {Decimal(str(price)) for price, _ in stored.bids}
        assert market.connectors["mexc"].stats.failures == {"sequence": 1}


async def test_a_31st_subscription_on_the_connection_is_refused_and_reported() -> None:
    """MEXC takes at most 30 subscriptions per connection and ccxt opens one: the 31st
    book fails (and keeps retrying, unhealthy) while the 30 others stream. A known limit."""
    symbols = [f"C{i:02d}-USDT" for i in range(31)]
    mexc = FakeMexc(books(*((s, "10") for s in symbols), tick="0.001", lot="0.01"), interval=0.05)
    async with live_market([mexc], {"mexc": symbols}) as market:
        await eventually(lambda: sum(market.fresh("mexc", s, 2000) for s in symbols) == 30, "30 books stream")
        await eventually(lambda: market.connectors["mexc"].stats.failures["snapshot"] >= 1, "the refusal reported")
        assert mexc.stats["errors"] >= 1 and len(mexc.subscribed_symbols) == 30
        refused = set(symbols) - mexc.subscribed_symbols
        assert all(not market.fresh("mexc", s, 2000) for s in refused)
        assert market.runner.restarts == 0


async def test_the_fake_pongs_and_refuses_unknown_streams() -> None:
    mexc, _ = fakes()
    await mexc.start()
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{mexc.ws_url}/ws") as ws:
            await ws.send_json({"method": "PING"})
            assert (await ws.receive_json())["msg"] == "PONG"
            stream = "spot@public.aggre.depth.v3.api.pb@100ms@FOOUSDT"
            await ws.send_json({"method": "SUBSCRIPTION", "params": [stream]})
            assert (await ws.receive_json())["msg"].startswith(f"Not Subscribed successfully! [{stream}]")
            stream = "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"
            await ws.send_json({"method": "SUBSCRIPTION", "params": [stream]})
            assert (await ws.receive_json()) == {"id": 0, "code": 0, "msg": stream}
            push = await ws.receive()
            assert push.type == aiohttp.WSMsgType.BINARY  # protobuf
            decoded = decode_aggre_depths(push.data)
            assert decoded is not None and decoded["channel"] == stream and decoded["symbol"] == "BTCUSDT"
    finally:
        await mexc.stop()
