"""Fault injection against the fake exchanges: what a user of the store sees when a feed
breaks (the book flagged unhealthy, then resynced and correct), what is counted, and that
the other exchanges' books stay fresh and usable by the scan throughout."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import FeeSchedule, ScanParams
from tests.fakes.binance import FakeBinance
from tests.fakes.harness import books, eventually, live_market
from tests.fakes.kraken import FakeKraken
from tests.fakes.okx import FakeOkx
from tests.fakes.server import FakeExchange


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def binance_and_okx() -> list[FakeBinance | FakeOkx]:
    return [
        FakeBinance(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000"))),
        FakeOkx(books(("BTC-USDT", "60010"), ("ETH-USDT", "3001"), seed=8)),
    ]


WATCH = {"binance": ["BTC-USDT", "ETH-USDT"], "okx": ["BTC-USDT", "ETH-USDT"]}


async def test_sequence_gap_flags_the_book_then_resyncs_from_a_fresh_snapshot() -> None:
    fakes = binance_and_okx()
    binance = fakes[0]
    async with live_market(fakes, WATCH) as market:
        await market.in_sync("binance", "BTC-USDT")
        await market.in_sync("okx", "BTC-USDT")
        gaps_before = metric("orderbook_gap_events_total", exchange="binance", kind="sequence")
        snapshots_before = binance.stats["snapshot_requests"]

        # The next diff event skips update ids, and the snapshots that would fix it fail
        # for a while: HTTP 500 eight times, more than ccxt's three tries for each of the
        # batch's two books (a resubscription re-snapshots the whole batch).
        binance.fail_snapshots(8, status=500)
        binance.inject_gap("BTC-USDT")
        await eventually(lambda: not market.book("binance", "BTC-USDT").is_healthy, "BTC flagged unhealthy")  # type: ignore[union-attr]
        assert market.store.marked("binance", "BTC-USDT", "sequence")
        # meanwhile okx keeps streaming and the scan keeps using it
        await eventually(lambda: market.fresh("okx", "BTC-USDT"), "okx still fresh")
        result = scan_books(market.store.read_all().books, int(time.time() * 1000), ScanParams(), FeeSchedule())
        assert result.skipped_unhealthy >= 1 and result.books_used >= 2

        stored = await market.in_sync("binance", "BTC-USDT")  # resynced and right again
        assert stored.is_healthy
        assert binance.stats["snapshot_requests"] > snapshots_before + 8
        assert binance.stats["snapshot_failed_500"] == 8
        assert metric("orderbook_gap_events_total", exchange="binance", kind="sequence") == gaps_before + 1
        connector = market.connectors["binance"]
        assert connector.stats.failures["sequence"] == 1 and connector.stats.failures["snapshot"] >= 1
        assert market.runner.restarts == 0  # recovered inside the connector, nothing crashed


async def test_okx_checksum_mismatch_flags_resyncs_and_counts() -> None:
    okx = FakeOkx(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000")))
    async with live_market([okx], {"okx": ["BTC-USDT", "ETH-USDT"]}) as market:
        await market.in_sync("okx", "ETH-USDT")
        before = metric("orderbook_gap_events_total", exchange="okx", kind="checksum")
        subscribes = okx.stats["subscribes"]

        okx.corrupt_checksum("ETH-USDT")
        await eventually(lambda: market.store.marked("okx", "ETH-USDT", "checksum"), "ETH flagged")
        stored = await market.in_sync("okx", "ETH-USDT")
        assert stored.meta["checksum_ok"] is True
        assert okx.stats["subscribes"] > subscribes  # unsubscribed and subscribed again for a snapshot
        assert metric("orderbook_gap_events_total", exchange="okx", kind="checksum") == before + 1
        assert not market.store.marked("okx", "BTC-USDT")


async def test_okx_zero_checksum_is_not_checked_and_sequence_ids_still_guard() -> None:
    okx = FakeOkx(books(("BTC-USDT", "60000")), checksum_mode="zero")  # OKX from mid-2026
    async with live_market([okx], {"okx": ["BTC-USDT"]}) as market:
        stored = await market.in_sync("okx", "BTC-USDT")
        assert stored.meta["checksum_ok"] is None  # nothing to verify, nothing claimed

        okx.inject_gap("BTC-USDT")  # prevSeqId no longer matches
        await eventually(lambda: market.store.marked("okx", "BTC-USDT", "sequence"), "gap caught by seqId")
        await market.in_sync("okx", "BTC-USDT")
        assert market.connectors["okx"].stats.failures == {"sequence": 1}


async def test_kraken_missed_update_is_caught_by_its_crc32_and_resynced() -> None:
    kraken = FakeKraken(books(("BTC-USD", "60000"), ("ETH-USD", "3000")))
    async with live_market([kraken], {"kraken": ["BTC-USD", "ETH-USD"]}) as market:
        await market.in_sync("kraken", "BTC-USD")
        book = kraken.books["BTC-USD"]
        kraken.pause()
        # An update the connector never receives (Kraken has no sequence numbers), then
        # one it does: only the checksum of the second tells the book is wrong.
        kraken.inject_gap("BTC-USD")
        third_bid = book.sorted_bids()[2][0]
        await kraken.step("BTC-USD", [("bids", third_bid, Decimal(0))])
        second_ask = book.sorted_asks()[1][0]
        await kraken.step("BTC-USD", [("asks", second_ask, Decimal("1.23456789"))])

        await eventually(lambda: market.store.marked("kraken", "BTC-USD", "checksum"), "mismatch caught")
        kraken.resume()
        stored = await market.in_sync("kraken", "BTC-USD")
        assert stored.meta["checksum_ok"] is True
        assert third_bid not in {Decimal(str(price)) for price, _ in stored.bids}
        assert market.connectors["kraken"].stats.failures == {"checksum": 1}
        assert kraken.stats["already_subscribed"] == 0  # resubscribed by unsubscribing first


async def test_kraken_wrong_checksum_flags_and_resyncs_only_that_book() -> None:
    kraken = FakeKraken(books(("BTC-USD", "60000"), ("ETH-USD", "3000")))
    async with live_market([kraken], {"kraken": ["BTC-USD", "ETH-USD"]}) as market:
        await market.in_sync("kraken", "ETH-USD")
        kraken.corrupt_checksum("ETH-USD")
        await eventually(lambda: market.store.marked("kraken", "ETH-USD", "checksum"), "ETH flagged")
        await market.in_sync("kraken", "ETH-USD")
        assert not market.store.marked("kraken", "BTC-USD")


async def test_an_unreadable_frame_drops_its_connection_at_once_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fakes = binance_and_okx()
    binance = fakes[0]
    # A silence limit far beyond the test: only the frame itself can trigger the reconnect.
    async with live_market(fakes, WATCH, connector={"min_silence_sec": 60, "silence_sec": 60}) as market:
        await market.in_sync("binance", "BTC-USDT")
        connections = binance.stats["connections"]
        # ccxt fails to parse it, and then stops reading the socket: silent but open.
        await binance.send_malformed()

        await eventually(lambda: market.store.marked("binance", "BTC-USDT", "connection lost"), "flagged", 5)
        await market.in_sync("binance", "BTC-USDT")
        await market.in_sync("binance", "ETH-USDT")
        assert binance.stats["connections"] > connections
        assert market.connectors["binance"].stats.reconnect_reasons["error"] >= 1
        assert market.connectors["okx"].stats.reconnects == 0
        assert market.fresh("okx", "ETH-USDT")
    assert not [r for r in caplog.records if r.exc_info], "no traceback in the logs"
    lost = [r for r in caplog.records if r.getMessage().startswith("order book stream lost")]
    assert "unreadable frame" in lost[0].__dict__["error"]


async def test_stalled_stream_goes_unhealthy_while_stalled_and_recovers() -> None:
    fakes = binance_and_okx()
    okx = fakes[1]
    async with live_market(fakes, WATCH, connector={"silence_sec": 0.6}) as market:
        await market.in_sync("okx", "BTC-USDT")
        before = metric("ws_reconnects_total", exchange="okx", reason="silence")
        okx.stall()  # connections stay open, nothing arrives, pings go unanswered

        await eventually(lambda: not market.book("okx", "BTC-USDT").is_healthy, "okx flagged")  # type: ignore[union-attr]
        stalled_at = market.book("okx", "BTC-USDT").ts_ingest  # type: ignore[union-attr]
        await eventually(
            lambda: metric("ws_reconnects_total", exchange="okx", reason="silence") >= before + 2, "retried"
        )
        stuck = market.book("okx", "BTC-USDT")
        assert stuck is not None and not stuck.is_healthy and stuck.ts_ingest == stalled_at
        # the scan skips it and keeps using binance
        assert market.fresh("binance", "BTC-USDT")
        result = scan_books(market.store.read_all().books, int(time.time() * 1000), ScanParams(), FeeSchedule())
        assert result.books_used == 2 and result.skipped_unhealthy == 2

        okx.unstall()
        await market.in_sync("okx", "BTC-USDT")
        await market.in_sync("okx", "ETH-USDT")


async def test_dropped_connection_reconnects_with_growing_jittered_capped_delays() -> None:
    fakes = binance_and_okx()
    binance = fakes[0]
    backoff = {"initial": 0.05, "factor": 2, "cap": 0.3, "jitter": 0.25}
    async with live_market(fakes, WATCH, backoff=backoff) as market:
        await market.in_sync("binance", "ETH-USDT")
        before = metric("ws_reconnects_total", exchange="binance", reason="closed")
        binance.refuse_connections(4)  # the next four handshakes get HTTP 503
        await binance.drop_connections()
        stats = market.connectors["binance"].stats
        await eventually(lambda: market.store.marked("binance", "ETH-USDT", "connection lost"), "flagged")
        await eventually(lambda: binance.stats["refused"] == 4 and bool(binance.connections), "reconnected")

        await market.in_sync("binance", "ETH-USDT")
        await market.in_sync("binance", "BTC-USDT")
        delays = list(stats.reconnect_delays)
        assert len(delays) == stats.reconnects == 5 and binance.stats["refused"] == 4
        assert delays[:3] == sorted(delays[:3]) and delays[0] < delays[1] < delays[2]  # growing
        assert all(d <= 0.3 for d in delays)  # capped
        base = [min(0.3, 0.05 * 2**i) for i in range(5)]
        assert all(0.75 * b <= d <= b for d, b in zip(delays, base, strict=True))  # jitter only shortens
        assert delays != base  # and it is there
        assert metric("ws_reconnects_total", exchange="binance", reason="closed") == before + 1
        assert market.fresh("okx", "ETH-USDT") and market.connectors["okx"].stats.reconnects == 0


async def test_snapshot_error_replies_are_retried_without_a_crash() -> None:
    binance = FakeBinance(books(("BTC-USDT", "60000")))
    binance.fail_snapshots(7, status=429)  # rate limited from the start, then fine
    async with live_market([binance], {"binance": ["BTC-USDT"]}) as market:
        before = metric("orderbook_snapshot_errors_total", exchange="binance")
        await market.in_sync("binance", "BTC-USDT")
        assert binance.stats["snapshot_failed_429"] == 7
        assert market.connectors["binance"].stats.failures["snapshot"] >= 2
        assert metric("orderbook_snapshot_errors_total", exchange="binance") >= before + 2
        assert market.runner.restarts == 0
        resyncs = list(market.connectors["binance"].stats.resync_delays)
        assert resyncs[0] < resyncs[1]  # paced: the second retry waited longer


@pytest.mark.parametrize("fake_class", [FakeBinance, FakeOkx, FakeKraken])
async def test_one_silent_book_is_resynced_while_its_batch_streams(fake_class: type[FakeExchange]) -> None:
    quote = "USD" if fake_class is FakeKraken else "USDT"
    btc, eth = f"BTC-{quote}", f"ETH-{quote}"
    fake = fake_class(books((btc, "60000"), (eth, "3000")))
    async with live_market([fake], {fake.name: [btc, eth]}, connector={"book_silence_sec": 0.5}) as market:
        await market.in_sync(fake.name, eth)
        # A fresh snapshot comes from a new subscription (okx, kraken) or a REST request
        # on the live stream (binance).
        refetches = fake.stats["subscribes"] + fake.stats.get("snapshot_requests", 0)
        fake.mute(eth)  # no update for ETH: a quiet market, or a subscription lost upstream

        await eventually(lambda: market.store.marked(fake.name, eth, "no update"), "ETH resynced")
        await eventually(lambda: market.book(fake.name, eth).is_healthy, "ETH back from a snapshot")  # type: ignore[union-attr]
        assert fake.stats["subscribes"] + fake.stats.get("snapshot_requests", 0) > refetches
        connector = market.connectors[fake.name]
        assert connector.stats.failures["silence"] >= 1
        assert connector.stats.reconnects == 0  # the connection was fine
        assert market.fresh(fake.name, btc)
        fake.unmute(eth)
        await market.in_sync(fake.name, eth)


async def test_a_crossed_book_from_the_exchange_never_reaches_the_store() -> None:
    okx = FakeOkx(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000")))
    async with live_market([okx], {"okx": ["BTC-USDT", "ETH-USDT"]}) as market:
        await market.in_sync("okx", "BTC-USDT")
        book = okx.books["BTC-USDT"]
        best_ask = book.sorted_asks()[0][0]
        okx.pause()
        # The exchange itself publishes a bid above its best ask (checksum and all).
        await okx.step("BTC-USDT", [("bids", best_ask + 1, Decimal("0.5"))])

        await eventually(lambda: market.store.marked("okx", "BTC-USDT", "invalid"), "crossed book refused")
        stored = market.book("okx", "BTC-USDT")
        assert stored is not None and not stored.is_healthy and stored.bids[0][0] < best_ask
        assert market.connectors["okx"].stats.failures["invalid"] >= 1

        await okx.step("BTC-USDT", [("bids", best_ask + 1, Decimal(0))])  # the exchange fixes it
        okx.resume()
        await market.in_sync("okx", "BTC-USDT")
