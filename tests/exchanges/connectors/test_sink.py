"""The coalescing sink: newest book wins, one store call per window, nothing lost on outages."""

from __future__ import annotations

import asyncio

import pytest

from exchanges.connectors.base import CoalescingSink
from exchanges.store.base import BookStore

from .helpers import RecordingStore, book, eventually


async def test_a_hot_book_is_written_once_per_window_with_its_newest_version(store: BookStore) -> None:
    recording = RecordingStore(store)
    sink = CoalescingSink(recording)
    for seq in range(1, 101):
        sink.put(book(seq=seq, price=60_000 + seq))
    sink.put_many(book(exchange=ex, seq=1) for ex in ("okx", "kraken"))
    assert await sink.flush()
    assert len(recording.batches) == 1  # one store call for every pending book
    assert sorted(recording.batches[0]) == [("binance", "BTC-USDT"), ("kraken", "BTC-USDT"), ("okx", "BTC-USDT")]
    stored = recording.books()
    assert stored[("binance", "BTC-USDT")].meta["seq_id"] == 100
    assert sink.stats.books_received == 102 and sink.stats.books_written == 3 and sink.stats.writes == 1


async def test_the_flush_loop_writes_what_connectors_put(store: BookStore) -> None:
    recording = RecordingStore(store)
    sink = CoalescingSink(recording, flush_interval=0.01)
    loop = asyncio.create_task(sink.run())
    try:
        sink.put(book(seq=1))
        await eventually(lambda: ("binance", "BTC-USDT") in recording.books(), "first book written")
        sink.put(book(seq=2))
        await eventually(lambda: recording.books()[("binance", "BTC-USDT")].meta["seq_id"] == 2, "update written")
    finally:
        loop.cancel()


async def test_a_store_outage_keeps_the_books_and_newer_versions_win(store: BookStore) -> None:
    recording = RecordingStore(store, fail_writes=2)
    sink = CoalescingSink(recording, flush_interval=0.0, retry_initial=0.01)
    sink.put_many([book(seq=1), book(exchange="okx", seq=1)])
    assert not await sink.flush()
    assert sink.pending == 2 and recording.books() == {}
    sink.put(book(seq=2))  # arrives during the outage
    loop = asyncio.create_task(sink.run())
    try:
        await eventually(lambda: len(recording.books()) == 2, "books written after the outage")
    finally:
        loop.cancel()
    stored = recording.books()
    assert stored[("binance", "BTC-USDT")].meta["seq_id"] == 2
    assert stored[("okx", "BTC-USDT")].meta["seq_id"] == 1
    assert sink.stats.write_errors == 2 and sink.pending == 0


async def test_marking_unhealthy_is_not_undone_by_a_pending_copy(store: BookStore) -> None:
    sink = CoalescingSink(store)
    sink.put(book(seq=1))
    await sink.flush()
    sink.put(book(seq=2))  # queued before the gap was detected
    await sink.mark_unhealthy("binance", "BTC-USDT", "sequence gap")
    await sink.flush()
    (stored,) = store.read_all().books
    assert stored.is_healthy is False
    assert sink.stats.marked_unhealthy == 1


async def test_a_failing_unhealthy_mark_is_logged_not_raised(
    store: BookStore, caplog: pytest.LogCaptureFixture
) -> None:
    class Down(RecordingStore):
        def mark_unhealthy(self, exchange: str, symbol: str, reason: str) -> bool:
            raise ConnectionError("redis is down")

    sink = CoalescingSink(Down(store))
    await sink.mark_unhealthy("binance", "BTC-USDT", "checksum")
    assert "could not mark book unhealthy" in caplog.text
    assert sink.stats.marked_unhealthy == 0
