"""Gate through the real connector against a protocol-faithful fake (tests/fakes/gate.py):
the stored books are Gate's true books, and every fault the `spot.obu` protocol allows
(a lost increment, an unreadable frame, a stall, a dropped connection, a failed
subscription, one silent book) flags the book unhealthy, then brings it back exact,
while another exchange's books stay fresh throughout. Gate has no checksum."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

import aiohttp
import ccxt.pro
import orjson
import pytest

from exchanges import registry
from exchanges.connectors.exchanges import ExchangeAdapter
from tests.fakes.binance import FakeBinance
from tests.fakes.gate import FakeGate
from tests.fakes.harness import Market, books, eventually, live_market, stays_fresh

SYMBOLS = ["BTC-USDT", "ETH-USDT", "SOL-USDT"]


def fakes() -> tuple[FakeGate, FakeBinance]:
    gate = FakeGate(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000"), ("SOL-USDT", "150"), seed=3))
    binance = FakeBinance(books(("BTC-USDT", "60010"), ("ETH-USDT", "3001"), seed=4))
    return gate, binance


WATCH = {"gate": SYMBOLS, "binance": ["BTC-USDT", "ETH-USDT"]}


async def test_books_equal_the_true_books_with_gate_depth_ids() -> None:
    gate, binance = fakes()
    async with live_market([gate, binance], WATCH) as market:
        for symbol in SYMBOLS:
            stored = await market.in_sync("gate", symbol)
            assert stored.meta["exchange_symbol"] == symbol.replace("-", "_")
            assert stored.meta["checksum_ok"] is None  # Gate sends none: nothing verified, nothing claimed
            assert len(stored.bids) == len(stored.asks) == 25
            assert stored.ts_event > 1_600_000_000_000 and stored.meta["lag_ms"] >= 0
        gate.pause()
        await eventually(lambda: market.matches_truth("gate", "BTC-USDT"), "in sync while paused")
        paused = market.book("gate", "BTC-USDT")
        assert paused is not None and paused.meta["seq_id"] == gate.depth_ids["BTC-USDT"]
        gate.resume()
        # ccxt subscribes the 50-level stream, one subscription per book, on one connection
        assert {sub.channel for conn in gate.connections for sub in conn.subscriptions.values()} == {
            f"ob.{s.replace('-', '_')}.50" for s in SYMBOLS
        }
        assert gate.stats["connections"] == 1 and gate.stats["errors"] == 0
        assert market.runner.restarts == 0


async def test_ccxt_alone_applies_increments_across_a_lost_one() -> None:
    """Why the adapter exists: ccxt 4.5.90 never compares U with the book's id."""
    gate, _ = fakes()
    generic = ExchangeAdapter(ccxt.pro.gate, registry.get("gate"))
    async with live_market([gate], {"gate": ["BTC-USDT"]}, adapters={"gate": generic}) as market:
        await market.in_sync("gate", "BTC-USDT")
        book = gate.books["BTC-USDT"]
        gate.pause()
        gate.inject_gap("BTC-USDT")
        lost = book.sorted_bids()[2][0]
        await gate.step("BTC-USDT", [("bids", lost, Decimal(0))])  # never reaches the client
        await gate.step("BTC-USDT", [("asks", book.sorted_asks()[1][0], Decimal("1.5"))])
        await asyncio.sleep(0.3)
        stored = market.book("gate", "BTC-USDT")
        assert stored is not None and stored.is_healthy  # nothing noticed ...
        assert lost in {Decimal(str(price)) for price, _ in stored.bids}  # ... and the book is wrong
        assert not market.matches_truth("gate", "BTC-USDT")
        gate.resume()


async def lost_increment(market: Market, gate: FakeGate) -> None:
    gate.inject_gap("BTC-USDT")


async def unreadable_frame(market: Market, gate: FakeGate) -> None:
    await gate.send_malformed()


async def stall(market: Market, gate: FakeGate) -> None:
    gate.stall()
    await eventually(lambda: not market.book("gate", "BTC-USDT").is_healthy, "flagged while stalled")  # type: ignore[union-attr]
    await asyncio.sleep(1.0)
    gate.unstall()


async def dropped_connection(market: Market, gate: FakeGate) -> None:
    gate.refuse_connections(2)
    await gate.drop_connections()


async def failed_subscription(market: Market, gate: FakeGate) -> None:
    gate.fail_snapshots(2)  # the next two subscriptions are answered with code 3
    await gate.drop_connections()


async def silent_book(market: Market, gate: FakeGate) -> None:
    gate.mute("BTC-USDT")
    await eventually(lambda: market.store.marked("gate", "BTC-USDT", "no update"), "silence noticed")
    gate.unmute("BTC-USDT")


Fault = Callable[[Market, FakeGate], Awaitable[None]]


@pytest.mark.parametrize(
    ("fault", "reason", "kind"),
    [
        (lost_increment, "sequence", "sequence"),
        (unreadable_frame, "connection lost", None),
        (stall, "connection lost", None),
        (dropped_connection, "connection lost", None),
        (failed_subscription, "", "snapshot"),
        (silent_book, "no update", "silence"),
    ],
    ids=["gap", "malformed", "stall", "drop", "subscription-error", "silent-book"],
)
async def test_fault_flags_the_book_then_it_is_exact_again(fault: Fault, reason: str, kind: str | None) -> None:
    gate, binance = fakes()
    connector = {"book_silence_sec": 1.0} if fault is silent_book else {}
    async with live_market([gate, binance], WATCH, connector=connector) as market:
        await market.in_sync("binance", "BTC-USDT")
        for symbol in SYMBOLS:
            await market.in_sync("gate", symbol)
        subscribes = gate.stats["subscribes"]
        async with stays_fresh(market):
            await fault(market, gate)
            await eventually(lambda: market.store.marked("gate", "BTC-USDT", reason), f"flagged: {reason}")
            stored = await market.in_sync("gate", "BTC-USDT")
            assert stored.is_healthy and stored.meta["checksum_ok"] is None
            for symbol in SYMBOLS[1:]:
                await market.in_sync("gate", symbol)
        stats = market.connectors["gate"].stats
        if kind is not None:
            assert stats.failures[kind] >= 1
        assert gate.stats["subscribes"] > subscribes  # a fresh full book came from a new subscription
        assert gate.stats["already_subscribed"] == 0  # resubscribed by unsubscribing first
        if fault in (lost_increment, silent_book):
            # one book resynced on the live connection, its neighbours untouched
            assert stats.reconnects == 0
            assert not market.store.marked("gate", "ETH-USDT") and not market.store.marked("gate", "SOL-USDT")
        if fault is failed_subscription:
            assert gate.stats["snapshot_failed"] == 2
        assert market.connectors["binance"].stats.reconnects == 0
        assert market.runner.restarts == 0


async def test_a_full_book_sent_unasked_replaces_the_book_and_it_stays_exact() -> None:
    gate, _ = fakes()
    async with live_market([gate], {"gate": ["BTC-USDT", "ETH-USDT"]}) as market:
        await market.in_sync("gate", "BTC-USDT")
        await gate.resend_full("BTC-USDT")  # Gate: "the server may resend full depth updates"
        await asyncio.sleep(0.2)
        await market.in_sync("gate", "BTC-USDT")
        assert not market.store.marked("gate", "BTC-USDT") and market.connectors["gate"].stats.failures == {}


async def test_the_fake_answers_pings_refuses_unknown_pairs_and_duplicate_subscriptions() -> None:
    gate, _ = fakes()
    await gate.start()
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{gate.ws_url}/ws/v4/") as ws:

            async def ask(request: dict[str, object]) -> dict[str, object]:
                await ws.send_json({"time": 1, **request})
                reply: dict[str, object] = orjson.loads((await ws.receive()).data)
                return reply

            assert (await ask({"channel": "spot.ping"}))["channel"] == "spot.pong"
            unknown = await ask({"id": 1, "channel": "spot.obu", "event": "subscribe", "payload": ["ob.FOO_USDT.50"]})
            assert unknown["error"] == {"code": 2, "message": "unknown currency pair: FOO_USDT"}
            request = {"id": 2, "channel": "spot.obu", "event": "subscribe", "payload": ["ob.BTC_USDT.50"]}
            assert (await ask(request))["result"] == {"status": "success"}
            gate.pause()
            full: dict[str, object] = orjson.loads((await ws.receive()).data)
            assert full["result"]["full"] is True  # type: ignore[index]
            duplicate = await ask({**request, "id": 3})
            assert duplicate["error"] == {"code": 2, "message": "Alert sub ob.BTC_USDT.50"}
    finally:
        await gate.stop()
