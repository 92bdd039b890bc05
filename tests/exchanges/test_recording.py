"""Recordings: what ingest writes is read back equal; damage costs only the damaged lines."""

from __future__ import annotations

import gzip
import shutil
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchanges.connectors.base import CoalescingSink
from exchanges.connectors.runner import run_connectors
from exchanges.connectors.simulated import SimulatedConnector, SimulatedMarket
from exchanges.recording import (
    BookRecorder,
    RecordingError,
    RecordingReader,
    RecordingSink,
    read_recording,
    record_connectors,
)
from exchanges.store import MemoryBookStore
from kernel.book import OrderBookSnapshot
from tests.exchanges.connectors.helpers import book
from tests.kernel.test_book import books

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def updates(count: int, exchange: str = "binance") -> list[OrderBookSnapshot]:
    return [book(exchange=exchange, seq=seq, price=60_000.0 + seq) for seq in range(1, count + 1)]


def write(path: Path, items: list[OrderBookSnapshot]) -> None:
    with BookRecorder(path) as recorder:
        recorder.write_many(items)


# --- round trips -------------------------------------------------------------------------


@FUZZ
@given(st.lists(books(), max_size=40))
def test_every_book_written_is_read_back_equal(tmp_path: Path, written: list[OrderBookSnapshot]) -> None:
    path = tmp_path / "round.jsonl.gz"
    path.unlink(missing_ok=True)
    write(path, written)
    read, bad = read_recording(path)
    assert read == written
    assert bad == []


def test_a_recording_is_gzip_jsonl_of_canonical_books(tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl.gz"
    written = updates(3)
    write(path, written)
    lines = gzip.decompress(path.read_bytes()).splitlines()  # what zcat shows
    assert lines == [b.to_json() for b in written]


def test_reopening_a_recording_appends_instead_of_clobbering_it(tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl.gz"
    first, second = updates(5), updates(4, exchange="okx")
    write(path, first)
    write(path, second)  # a restarted ingest
    assert read_recording(path) == (first + second, [])


def test_a_plain_jsonl_file_reads_like_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "books.jsonl"
    written = updates(3)
    path.write_bytes(b"".join(b.to_json() + b"\n" for b in written) + b"\n")  # a blank line too
    assert read_recording(path) == (written, [])


# --- damage ------------------------------------------------------------------------------


def test_a_bad_middle_line_and_a_torn_last_line_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "damaged.jsonl.gz"
    good = updates(4)
    crossed = book(seq=99).to_dict() | {"bids": [[70_000.0, 1.0]]}  # valid JSON, invalid book
    lines = [good[0].to_json(), good[1].to_json(), b"{not json", good[2].to_json(), orjson.dumps(crossed)]
    lines += [good[3].to_json(), good[3].to_json()[:40]]  # the last line torn mid-write, no newline
    path.write_bytes(gzip.compress(b"\n".join(lines)))

    reader = RecordingReader(path)
    assert list(reader) == [good[0], good[1], good[2], good[3]]
    assert [(bad.line, bad.path) for bad in reader.bad_lines] == [(3, str(path)), (5, str(path)), (7, str(path))]
    assert str(reader.bad_lines[0]).startswith(f"{path}:3: book: invalid JSON")
    assert str(reader.bad_lines[1]).startswith(f"{path}:5: book: crossed")
    assert reader.bad_line_count == 3 and reader.books_read == 4


@FUZZ
@given(
    st.lists(st.booleans(), min_size=1, max_size=30),
    st.lists(st.binary(max_size=30).filter(lambda b: b"\n" not in b and b.strip() != b""), min_size=1),
)
def test_junk_anywhere_costs_exactly_the_junk_lines(tmp_path: Path, layout: list[bool], junk: list[bytes]) -> None:
    path = tmp_path / "junk.jsonl.gz"
    good = iter(updates(len(layout)))
    lines, expected, junk_lines = [], [], []
    for n, is_junk in enumerate(layout, start=1):
        if is_junk:
            lines.append(junk[n % len(junk)])
            junk_lines.append(n)
        else:
            item = next(good)
            lines.append(item.to_json())
            expected.append(item)
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    read, bad = read_recording(path)
    assert read == expected
    assert [b.line for b in bad] == junk_lines


def test_a_crash_loses_only_what_came_after_the_last_flush(tmp_path: Path) -> None:
    path = tmp_path / "crash.jsonl.gz"
    clock = Clock()
    recorder = BookRecorder(path, flush_interval=1.0, clock=clock)
    before = updates(300)
    recorder.write_many(before[:-1])
    clock.now += 1.5
    recorder.write(before[-1])  # due: this write flushes everything so far
    recorder.write_many(updates(5, exchange="okx"))  # the last moments, still in memory
    crashed = tmp_path / "as-left-by-the-crash.jsonl.gz"
    shutil.copy(path, crashed)  # what is on disk, as if the process died here
    recorder.close()

    reader = RecordingReader(crashed)
    assert list(reader) == before
    (cut,) = reader.bad_lines
    assert cut.line == 301 and "cut short" in cut.error


def test_a_file_cut_inside_a_line_keeps_every_whole_line_before_it(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    written = updates(200)
    write(path, written)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    read, bad = read_recording(path)
    assert read == written[: len(read)] and 0 < len(read) < len(written)
    assert "cut short" in bad[-1].error


def test_corrupt_compressed_data_keeps_what_came_before(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.jsonl.gz"
    first = updates(50)
    write(path, first)
    path.write_bytes(path.read_bytes() + b"\x1f\x8b\x08\x00" + b"\xff" * 64)  # a broken second member
    read, bad = read_recording(path)
    assert read == first
    assert bad[-1].line == 51 and "corrupt compressed data" in bad[-1].error


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"cannot read .*nope\.jsonl\.gz: No such file"):
        RecordingReader(tmp_path / "nope.jsonl.gz")
    with pytest.raises(RecordingError, match=r"cannot open .*missing-dir.*: No such file"):
        BookRecorder(tmp_path / "missing-dir" / "x.jsonl.gz")


# --- recording from a live sink ---------------------------------------------------------


async def test_the_recording_sink_records_every_update_and_the_store_gets_the_newest(tmp_path: Path) -> None:
    store = MemoryBookStore()
    path = tmp_path / "sink.jsonl.gz"
    written = updates(20)
    with BookRecorder(path) as recorder:
        sink = RecordingSink(CoalescingSink(store), recorder)
        sink.put_many(written[:10])
        for item in written[10:]:
            sink.put(item)
        await sink.mark_unhealthy("binance", "BTC-USDT", "sequence gap")
    read, bad = read_recording(path)
    assert read[:20] == written  # every update, also those coalescing dropped
    flagged = read[20]
    assert flagged.is_healthy is False and flagged.meta["unhealthy_reason"] == "sequence gap"
    assert flagged.bids == written[-1].bids and flagged.ts_ingest >= written[-1].ts_ingest
    assert bad == []


async def test_a_full_disk_stops_the_recording_not_the_books(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryBookStore()
    clock = Clock()
    recorder = BookRecorder("/dev/full", clock=clock)  # every write to the device fails: ENOSPC
    sink = CoalescingSink(store)
    recording = RecordingSink(sink, recorder)
    for item in updates(50):
        recording.put(item)
        clock.now += 0.5  # a flush every other book
    await sink.flush()
    (stored,) = store.read_all().books
    assert stored.meta["seq_id"] == 50
    (failure,) = [r for r in caplog.records if r.getMessage().startswith("recording failed")]
    assert failure.error == "cannot write to /dev/full: No space left on device"  # type: ignore[attr-defined]
    with pytest.raises(RecordingError, match="cannot write to /dev/full: No space left"):
        recorder.close()


def test_ingest_with_recording_writes_what_reached_the_store(tmp_path: Path) -> None:
    path = tmp_path / "ingest.jsonl.gz"
    store = MemoryBookStore()
    market = SimulatedMarket(["BTC-USDT", "ETH-USDT"], ["binance", "okx"], seed=3)
    with BookRecorder(path, flush_interval=0.05) as recorder:
        connectors = record_connectors([SimulatedConnector(market, interval=0.02)], recorder)
        summary = run_connectors(connectors, store, duration=0.3, flush_interval=0.01)
    read, bad = read_recording(path)
    assert bad == [] and len(read) == summary.stats.books_received >= 4
    newest = {b.key: b for b in read}
    stored = store.read_all().books
    # The run was stopped (its duration ended): nothing keeps the books current any more,
    # so they are flagged unhealthy; otherwise they are what was recorded.
    assert not any(b.is_healthy for b in stored)
    assert newest == {b.key: replace(b, is_healthy=True) for b in stored}
