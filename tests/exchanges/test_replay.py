"""Replay: a recording played back through the real sink and store, in order and paced."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import FeeSchedule, ScanParams
from exchanges.connectors.replay import ReplayConnector, parse_speed
from exchanges.connectors.runner import run_connectors
from exchanges.management.commands.make_sample_recording import (
    EXCHANGES,
    PLANT_EXCHANGE,
    PLANT_SYMBOL,
    SAMPLE_PATH,
    SYMBOLS,
    write_sample_recording,
)
from exchanges.recording import BookRecorder, RecordingError, read_recording
from exchanges.store import MemoryBookStore, RedisBookStore
from exchanges.store.base import BookStore
from kernel.book import OrderBookSnapshot
from tests.exchanges.connectors.helpers import book, eventually


class ListSink:
    """Keeps what a connector put, in order (the connector is what is under test)."""

    def __init__(self) -> None:
        self.books: list[OrderBookSnapshot] = []

    def put(self, item: OrderBookSnapshot) -> None:
        self.books.append(item)

    def put_many(self, items: Iterable[OrderBookSnapshot]) -> None:
        self.books.extend(items)

    async def mark_unhealthy(self, exchange: str, symbol: str, reason: str) -> None:
        raise AssertionError("a replay never marks books itself")


def recording(path: Path, gaps_ms: list[int]) -> list[OrderBookSnapshot]:
    """Books arriving `gaps_ms` apart (by ts_ingest), written to `path`."""
    books, ts = [], 1_750_000_000_000
    for seq, gap in enumerate([0, *gaps_ms], start=1):
        ts += gap
        item = book(exchange=("binance", "okx")[seq % 2], seq=seq)
        item.ts_ingest, item.ts_event = ts, ts - 7 * seq
        books.append(item)
    with BookRecorder(path) as recorder:
        recorder.write_many(books)
    return books


@pytest.mark.parametrize("speed", [0.0, 10.0])
async def test_books_come_out_in_file_order_restamped_with_their_lag_kept(tmp_path: Path, speed: float) -> None:
    path = tmp_path / "r.jsonl.gz"
    recorded = recording(path, [30, 0, 120, 5, 200, 60])
    sink = ListSink()
    await ReplayConnector(path, speed=speed, clock=lambda: 1_800_000_000.0).run(sink)
    assert [b.meta["seq_id"] for b in sink.books] == [b.meta["seq_id"] for b in recorded]
    for original, replayed in zip(recorded, sink.books, strict=True):
        assert replayed.ts_ingest == 1_800_000_000_000  # fresh for the scan
        assert replayed.lag_ms == original.lag_ms
        assert replayed.meta["recorded_ts_ingest"] == original.ts_ingest
        assert replayed.meta["recorded_ts_event"] == original.ts_event
        assert (replayed.bids, replayed.asks, replayed.key) == (original.bids, original.asks, original.key)


async def test_speed_divides_the_recorded_inter_arrival_times(tmp_path: Path) -> None:
    path = tmp_path / "paced.jsonl.gz"
    recorded = recording(path, [400, 0, 300, 300])  # 1 s of market
    sink = ListSink()
    await ReplayConnector(path, speed=10).run(sink)
    assert [b.meta["seq_id"] for b in sink.books] == [1, 2, 3, 4, 5]
    # A paced replay can run late (a busy machine) but never ahead of the recording's
    # clock: each book waits for its instant, 1/10 of the recorded gap after the first.
    start = sink.books[0].ts_ingest
    for original, replayed in zip(recorded, sink.books, strict=True):
        recorded_offset = original.ts_ingest - recorded[0].ts_ingest
        assert replayed.ts_ingest - start >= recorded_offset / 10 - 2  # ms clock rounding


async def test_bad_lines_are_skipped_and_the_replay_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "damaged.jsonl"
    good = [book(seq=seq) for seq in range(1, 4)]
    path.write_bytes(good[0].to_json() + b"\n[1, 2]\n" + good[1].to_json() + b"\n" + good[2].to_json()[:30])
    connector = ReplayConnector(path, speed=0)
    sink = ListSink()
    await connector.run(sink)
    assert [b.meta["seq_id"] for b in sink.books] == [1, 2]
    assert connector.books_replayed == 2 and connector.bad_lines == 2


async def test_loop_starts_over_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "loop.jsonl.gz"
    recording(path, [10, 10])
    sink = ListSink()
    task = asyncio.create_task(ReplayConnector(path, speed=0, loop=True).run(sink))
    try:
        await eventually(lambda: len(sink.books) >= 7, "a third pass")
    finally:
        task.cancel()
    assert [b.meta["seq_id"] for b in sink.books[:7]] == [1, 2, 3, 1, 2, 3, 1]


def test_a_missing_recording_is_refused_when_the_connector_is_made(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"cannot read .*gone\.jsonl\.gz"):
        ReplayConnector(tmp_path / "gone.jsonl.gz")
    with pytest.raises(ValueError, match="speed"):
        ReplayConnector(SAMPLE_PATH, speed=-1)


async def test_a_loop_over_a_file_without_books_fails_instead_of_spinning(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_bytes(b"junk\n")
    with pytest.raises(RecordingError, match="no valid book"):
        await ReplayConnector(path, speed=0, loop=True).run(ListSink())


@pytest.mark.parametrize(("text", "speed"), [("max", 0.0), ("MAX", 0.0), ("0", 0.0), ("10", 10.0), ("0.5", 0.5)])
def test_speed_flag_values(text: str, speed: float) -> None:
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["-1", "fast", "", "inf", "nan"])
def test_bad_speed_flag_values_are_one_line_errors(text: str) -> None:
    with pytest.raises(ValueError, match=r"^expected a positive factor or 'max', got "):
        parse_speed(text)


# --- the shipped sample -------------------------------------------------------------------


def test_the_shipped_sample_is_small_and_whole() -> None:
    books, bad = read_recording(SAMPLE_PATH)
    assert bad == []
    assert SAMPLE_PATH.stat().st_size < 300_000
    assert {b.key for b in books} == {(e, s) for e in EXCHANGES for s in SYMBOLS}
    span_sec = (books[-1].ts_ingest - books[0].ts_ingest) / 1000
    assert 60 <= span_sec <= 120


@pytest.fixture(params=["memory", "redis"])
def book_store(request: pytest.FixtureRequest) -> Iterable[BookStore]:
    if request.param == "memory":
        yield MemoryBookStore()
        return
    request.getfixturevalue("redis_client")  # a clean db 15
    store = RedisBookStore(request.getfixturevalue("redis_url"), key_prefix="replay-test:")
    yield store
    store.close()


def test_the_sample_replayed_into_the_store_shows_its_planted_edge(book_store: BookStore) -> None:
    summary = run_connectors([ReplayConnector(SAMPLE_PATH, speed=0)], book_store, flush_interval=0.01)
    assert summary.statuses["replay"].state == "finished"
    stored = book_store.read_all()
    assert len(stored.books) == len(EXCHANGES) * len(SYMBOLS) and not stored.corrupt

    result = scan_books(stored.books, int(time.time() * 1000), ScanParams(), FeeSchedule())
    assert result.books_used == len(stored.books)  # restamped: nothing stale
    best = result.opportunities[0]
    assert (best.type, best.symbol, best.buy_exchange) == ("spatial", PLANT_SYMBOL, PLANT_EXCHANGE)
    assert best.net_edge_pct > 0.4


def test_the_sample_builder_makes_a_readable_recording_with_the_edge(tmp_path: Path) -> None:
    path = tmp_path / "sample.jsonl.gz"
    summary = write_sample_recording(path, seconds=25)
    books, bad = read_recording(path)
    assert bad == [] and summary.books == len(books)
    newest = {b.key: b for b in books}
    result = scan_books(newest.values(), books[-1].ts_ingest, ScanParams(), FeeSchedule())
    assert any(o.buy_exchange == PLANT_EXCHANGE and o.symbol == PLANT_SYMBOL for o in result.opportunities)
