"""Bitfinex through the real connector and the unchanged ccxt client, against the fake
(tests/fakes/bitfinex.py): the stored books are the exchange's true books, and every fault
the protocol allows (a lost update, a wrong checksum, a refused subscription, a broken
frame, a stall, a dropped connection, a server restart, a silent channel) flags the book, then brings it back
healthy and exact, while another exchange in the same ingest stays fresh throughout."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from exchanges.connectors.exchanges.bitfinex import bitfinex_checksum, js_number
from tests.fakes.binance import FakeBinance
from tests.fakes.bitfinex import FakeBitfinex, pair_id
from tests.fakes.bitfinex import bitfinex_checksum as exchange_checksum
from tests.fakes.bitfinex import js_number as exchange_js_number
from tests.fakes.harness import Market, books, eventually, live_market

SYMBOLS = ["BTC-USD", "ETH-USDT", "DOGE-USD"]
WATCH = {"bitfinex": SYMBOLS, "binance": ["BTC-USDT"]}


def fakes() -> tuple[FakeBitfinex, FakeBinance]:
    true_books = books(("BTC-USD", "60000"), ("ETH-USDT", "3000"), seed=3, tick="0.01")
    true_books += books(("DOGE-USD", "0.12"), seed=3, tick="0.00001", lot="0.0001")
    bitfinex = FakeBitfinex(true_books)
    return bitfinex, FakeBinance(books(("BTC-USDT", "60010"), seed=4))


def test_checksum_formats_numbers_as_javascript_and_matches_the_exchanges() -> None:
    assert [js_number(x) for x in (7364.8, 3.0, -0.00288831, 1e-7, -2.5e-7, 0.000015)] == [
        "7364.8",
        "3",
        "-0.00288831",
        "1e-7",
        "-2.5e-7",
        "0.000015",
    ]
    assert exchange_js_number(Decimal("-0.00000025")) == "-2.5e-7"
    bids = [(Decimal("7364.8"), Decimal("4.354802")), (Decimal("7364.7"), Decimal("0.0000001"))]
    asks = [(Decimal("7364.9"), Decimal("-0.42028976")), (Decimal("7365"), Decimal("-0.25"))]
    ccxt_levels = ([[float(p), float(q), 1] for p, q in bids], [[float(p), -float(q), 1] for p, q in asks])
    assert bitfinex_checksum(*ccxt_levels) == exchange_checksum(bids, asks)
    assert pair_id("BTC-USDT") == "BTCUST" and pair_id("DOGE-USD") == "DOGE:USD"


async def test_stored_books_are_the_true_books() -> None:
    bitfinex, binance = fakes()
    async with live_market([bitfinex, binance], WATCH) as market:
        for symbol in SYMBOLS:
            stored = await market.in_sync("bitfinex", symbol)
            assert stored.meta["exchange_symbol"] == "t" + pair_id(symbol)
            assert len(stored.bids) == len(stored.asks) == 25  # the channel's len, all checksummed
            assert stored.meta["seq_id"] is None  # no sequence numbers on Bitfinex's book channel
        await eventually(lambda: market.book("bitfinex", "BTC-USD").meta["checksum_ok"] is True, "verified")  # type: ignore[union-attr]
        assert bitfinex.stats["errors"] == 0 and len(bitfinex.connections) == 1
        assert bitfinex.stats["conf_events"] == 1  # the checksum flag, once for the connection
        assert market.connectors["bitfinex"].stats.failures == {}


async def _gap(market: Market, fake: FakeBitfinex, symbol: str) -> None:
    fake.inject_gap(symbol)  # an iteration the connector never hears of; the checksum tells


async def _bad_checksum(market: Market, fake: FakeBitfinex, symbol: str) -> None:
    fake.corrupt_checksum(symbol)


async def _refused_resubscription(market: Market, fake: FakeBitfinex, symbol: str) -> None:
    fake.fail_snapshots(2)  # the snapshot comes with the subscription: two are refused
    fake.corrupt_checksum(symbol)


async def _malformed(market: Market, fake: FakeBitfinex, symbol: str) -> None:
    await fake.send_malformed()


async def _drop(market: Market, fake: FakeBitfinex, symbol: str) -> None:
    fake.refuse_connections(2)
    await fake.drop_connections()


async def _restart(market: Market, fake: FakeBitfinex, symbol: str) -> None:
    await fake.announce_restart()


async def _stall(market: Market, fake: FakeBitfinex, symbol: str) -> None:
    fake.stall()
    await eventually(lambda: not market.book("bitfinex", symbol).is_healthy, "flagged while stalled")  # type: ignore[union-attr]
    fake.unstall()


async def _mute(market: Market, fake: FakeBitfinex, symbol: str) -> None:
    fake.mute(symbol)
    await eventually(lambda: market.store.marked("bitfinex", symbol, "no update"), "silent channel flagged")
    fake.unmute(symbol)


Fault = Callable[[Market, FakeBitfinex, str], Awaitable[None]]

FAULTS: dict[str, tuple[Fault, str]] = {
    "gap": (_gap, "checksum"),
    "checksum": (_bad_checksum, "checksum"),
    "snapshot": (_refused_resubscription, "checksum"),
    "malformed": (_malformed, "connection lost"),
    "drop": (_drop, "connection lost"),
    "restart": (_restart, "connection lost"),
    "stall": (_stall, "connection lost"),
    "silence": (_mute, "no update"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_flags_the_book_then_it_is_healthy_and_exact_again(fault: str) -> None:
    inject, reason = FAULTS[fault]
    bitfinex, binance = fakes()
    symbol = "ETH-USDT"
    connector = {"silence_sec": 0.8, "min_silence_sec": 0.8, "book_silence_sec": 1.0, "min_book_silence_sec": 1.0}
    async with live_market([bitfinex, binance], WATCH, connector=connector) as market:
        await market.in_sync("binance", "BTC-USDT")
        await market.in_sync("bitfinex", symbol)
        await eventually(lambda: market.book("bitfinex", symbol).meta["checksum_ok"] is True, "verified")  # type: ignore[union-attr]
        subscribes = bitfinex.stats["subscribes"]

        await inject(market, bitfinex, symbol)
        await eventually(lambda: market.store.marked("bitfinex", symbol, reason), f"flagged ({reason})")
        assert market.fresh("binance", "BTC-USDT")  # the other exchange is not disturbed
        await eventually(lambda: market.book("bitfinex", symbol).is_healthy, "healthy again")  # type: ignore[union-attr]
        stored = await market.in_sync("bitfinex", symbol)
        assert stored.meta["checksum_ok"] in (True, None)  # None: a snapshot no checksum followed yet
        for other in SYMBOLS:
            await market.in_sync("bitfinex", other)

        assert bitfinex.stats["subscribes"] > subscribes  # a fresh snapshot, from a new subscription
        assert bitfinex.stats["already_subscribed"] == 0  # never refused as a duplicate
        stats = market.connectors["bitfinex"].stats
        if fault in ("gap", "checksum"):
            assert stats.failures == {"checksum": 1} and stats.reconnects == 0
            assert not market.store.marked("bitfinex", "BTC-USD")  # its neighbours stay live
        if fault == "snapshot":
            assert bitfinex.stats["snapshot_failed"] == 2 and stats.failures["snapshot"] == 2
        assert market.connectors["binance"].stats.reconnects == 0
        assert market.fresh("binance", "BTC-USDT")
        assert market.runner.restarts == 0


async def test_a_refused_first_subscription_is_retried() -> None:
    bitfinex, binance = fakes()
    bitfinex.fail_snapshots(1)
    async with live_market([bitfinex, binance], WATCH) as market:
        for symbol in SYMBOLS:
            await market.in_sync("bitfinex", symbol)
        assert market.connectors["bitfinex"].stats.failures == {"snapshot": 1}
        assert market.runner.restarts == 0


async def test_more_books_than_a_connection_carries_spread_over_connections() -> None:
    names = [f"C{i:02d}X-USD" for i in range(27)]  # 27 book channels; Bitfinex allows 25 a connection
    bitfinex = FakeBitfinex(books(*[(name, "100") for name in names], seed=5), interval=0.05, changes_per_tick=1)
    async with live_market([bitfinex], {"bitfinex": names}) as market:
        for name in (names[0], names[25], names[26]):
            await market.in_sync("bitfinex", name)
        assert bitfinex.stats["channel_limit"] == 0 and bitfinex.stats["subscribes"] == 27
        assert len(bitfinex.connections) == 2
