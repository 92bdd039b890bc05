"""How fast and how narrowly a feed recovers: silence is noticed in about ten of the feed's
usual gaps (seconds, not the 30 s maximum), one good resync resets every backoff, a gap
resyncs only the book it hit, and a clean stop leaves no book looking healthy."""

from __future__ import annotations

import time

from tests.fakes.binance import FakeBinance
from tests.fakes.harness import books, eventually, live_market
from tests.fakes.okx import FakeOkx

WATCH = {"binance": ["BTC-USDT", "ETH-USDT"], "okx": ["BTC-USDT", "ETH-USDT"]}


def binance_and_okx() -> list[FakeBinance | FakeOkx]:
    return [
        FakeBinance(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000"))),
        FakeOkx(books(("BTC-USDT", "60010"), ("ETH-USDT", "3001"), seed=8)),
    ]


async def test_a_stalled_feed_is_flagged_within_seconds_of_its_usual_pace_not_the_maximum() -> None:
    fakes = binance_and_okx()
    okx = fakes[1]
    # The production maxima (30 s, 120 s); the fakes update every 20 ms, so ten usual gaps
    # are far below the 0.5 s floor set here, and the floor is what applies.
    timings = {"silence_sec": 30.0, "book_silence_sec": 120.0, "min_silence_sec": 0.5, "min_book_silence_sec": 2.0}
    async with live_market(fakes, WATCH, connector=timings) as market:
        await market.in_sync("okx", "BTC-USDT")
        await eventually(lambda: market.connectors["okx"]._batches[0].usual_gap.value is not None, "pace learned")
        okx.stall()  # the socket stays open and silent: what a swallowed malformed frame looks like
        stalled = time.monotonic()
        await eventually(lambda: not market.book("okx", "BTC-USDT").is_healthy, "okx flagged", 10)  # type: ignore[union-attr]
        assert time.monotonic() - stalled < 2.0, "flagged in about the floor, not in silence_sec"
        assert market.store.marked("okx", "BTC-USDT", "connection lost (silence)")
        okx.unstall()
        await market.in_sync("okx", "BTC-USDT")


async def test_one_good_resync_resets_the_reconnect_backoff() -> None:
    fakes = binance_and_okx()
    binance = fakes[0]
    backoff = {"initial": 0.05, "factor": 2, "cap": 5.0, "jitter": 0.0, "healthy_after": 600}
    async with live_market(fakes, WATCH, backoff=backoff) as market:
        await market.in_sync("binance", "BTC-USDT")
        stats = market.connectors["binance"].stats
        # A flaky minute: the connection drops and the next handshakes are refused.
        binance.refuse_connections(3)
        await binance.drop_connections()
        await eventually(lambda: binance.stats["refused"] == 3, "refused three times")
        await market.in_sync("binance", "BTC-USDT")
        await market.in_sync("binance", "ETH-USDT")
        flaky = list(stats.reconnect_delays)
        assert flaky == [0.05, 0.1, 0.2, 0.4]

        # Back in sync: one clean drop later is a first failure again, not a fifth.
        await binance.drop_connections()
        await eventually(lambda: len(stats.reconnect_delays) == 5, "reconnected")
        assert stats.reconnect_delays[-1] == 0.05
        await market.in_sync("binance", "BTC-USDT")


async def test_a_gap_soon_after_a_rate_limited_episode_is_resynced_at_once() -> None:
    binance = FakeBinance(books(("BTC-USDT", "60000")))
    binance.fail_snapshots(7, status=429)  # the resyncs back off while the 429s last
    async with live_market([binance], {"binance": ["BTC-USDT"]}, connector={"resync_cap": 5.0}) as market:
        await market.in_sync("binance", "BTC-USDT")
        delays = market.connectors["binance"].stats.resync_delays
        assert max(delays) > 0
        before = len(delays)
        binance.inject_gap("BTC-USDT")
        await eventually(lambda: len(delays) > before, "gap resynced")
        assert delays[before] == 0.0, "the episode before ended with a good resync"
        await market.in_sync("binance", "BTC-USDT")


async def test_a_gap_on_one_binance_book_leaves_its_neighbours_alone() -> None:
    fakes = binance_and_okx()
    binance = fakes[0]
    async with live_market(fakes, WATCH) as market:
        await market.in_sync("binance", "BTC-USDT")
        await market.in_sync("binance", "ETH-USDT")
        snapshots, subscribes = dict(binance.stats), binance.stats["subscribes"]
        binance.inject_gap("BTC-USDT")
        await eventually(lambda: market.store.marked("binance", "BTC-USDT", "sequence"), "BTC flagged")
        await market.in_sync("binance", "BTC-USDT")
        assert binance.stats["snapshot_requests:ETH-USDT"] == snapshots["snapshot_requests:ETH-USDT"], "ETH untouched"
        assert binance.stats["subscribes"] == subscribes, "no resubscription of the batch"
        assert not market.store.marked("binance", "ETH-USDT"), "the neighbour stayed healthy throughout"
        assert market.fresh("binance", "ETH-USDT")
