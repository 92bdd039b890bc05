"""The runner: one connector failing never stops another; restarts back off; stop is clean."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchanges.connectors.base import BookSink, CoalescingSink
from exchanges.connectors.runner import BackoffPolicy, ConnectorRunner, run_connectors, stop_on_signals
from exchanges.store.base import BookStore

from .helpers import RecordingStore, book, eventually


class Steady:
    """Puts a fresh version of its book every few milliseconds, forever."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seq = 0
        self.cancelled = False

    async def run(self, sink: BookSink) -> None:
        try:
            while True:
                self.seq += 1
                sink.put(book(exchange=self.name, seq=self.seq))
                await asyncio.sleep(0.002)
        except asyncio.CancelledError:
            self.cancelled = True  # where a live connector closes its websocket
            raise


class Broken:
    """Raises on every start, after `fail_times` (None: forever) it runs like Steady."""

    def __init__(self, name: str, fail_times: int | None = None) -> None:
        self.name = name
        self.starts = 0
        self._fail_times = fail_times

    async def run(self, sink: BookSink) -> None:
        self.starts += 1
        if self._fail_times is None or self.starts <= self._fail_times:
            raise ConnectionError(f"{self.name}: connection reset")
        await Steady(self.name).run(sink)


class CancelledUnder:
    """Its first run awaits a future something else cancels (ccxt closing a connection
    cancels every watch pending on it); then it runs like Steady."""

    name = "bitstamp"

    def __init__(self) -> None:
        self.starts = 0

    async def run(self, sink: BookSink) -> None:
        self.starts += 1
        if self.starts == 1:
            pending = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_later(0.01, pending.cancel)
            await pending
        await Steady(self.name).run(sink)


class Finite:
    name = "replay"

    async def run(self, sink: BookSink) -> None:
        sink.put_many(book(symbol=s) for s in ("BTC-USDT", "ETH-USDT"))


FAST = BackoffPolicy(initial=0.005, factor=2.0, cap=0.04, jitter=0.25)


async def test_a_failing_connector_is_restarted_with_growing_backoff_while_others_write(store: BookStore) -> None:
    steady, broken = Steady("okx"), Broken("kraken")
    recording = RecordingStore(store)
    runner = ConnectorRunner([steady, broken], CoalescingSink(recording, flush_interval=0.005), backoff=FAST)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    status = runner.statuses["kraken"]
    await eventually(lambda: status.restarts >= 1, "first restart")
    written_at_first_failure = steady.seq
    await eventually(lambda: status.restarts >= 7, "seven restarts")
    await eventually(lambda: _stored_seq(recording, "okx") > written_at_first_failure, "okx kept writing")
    stop.set()
    await task

    delays = list(status.recent_delays)
    assert delays[:4] == sorted(delays[:4]) and len(set(delays[:4])) == 4  # strictly growing
    assert all(d <= FAST.cap for d in delays) and delays[-1] >= FAST.cap * (1 - FAST.jitter)
    assert status.last_error == "ConnectionError: kraken: connection reset"
    assert runner.statuses["okx"].restarts == 0
    assert steady.cancelled and status.state == "stopped"


async def test_a_connector_that_recovers_keeps_running(store: BookStore) -> None:
    flaky = Broken("bybit", fail_times=2)
    runner = ConnectorRunner([flaky], CoalescingSink(store, flush_interval=0.005), backoff=FAST)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await eventually(lambda: _stored_seq(store, "bybit") >= 3, "books after recovery")
    stop.set()
    await task
    assert runner.statuses["bybit"].restarts == 2 and flaky.starts == 3


async def test_a_watch_cancelled_under_a_connector_is_a_failure_it_restarts_from(store: BookStore) -> None:
    connector = CancelledUnder()
    runner = ConnectorRunner([connector], CoalescingSink(store, flush_interval=0.005), backoff=FAST)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await eventually(lambda: _stored_seq(store, "bitstamp") >= 3, "books after the restart")
    status = runner.statuses["bitstamp"]
    assert status.restarts == 1 and status.last_error.startswith("ConnectorCancelled: bitstamp: a pending operation")
    stop.set()
    await task  # and a real stop still stops it
    assert status.state == "stopped"


async def test_a_finished_connector_is_not_restarted_and_the_run_ends_with_a_flush(store: BookStore) -> None:
    runner = ConnectorRunner([Finite()], CoalescingSink(store, flush_interval=60.0), backoff=FAST)
    await asyncio.wait_for(runner.run(asyncio.Event()), timeout=20)  # bound only against hangs
    assert runner.statuses["replay"].state == "finished" and runner.restarts == 0
    assert {b.symbol for b in store.read_all().books} == {"BTC-USDT", "ETH-USDT"}


async def test_progress_is_logged_with_books_written_per_interval(
    store: BookStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="exchanges.connectors.runner")
    runner = ConnectorRunner([Steady("gate")], CoalescingSink(store, flush_interval=0.005), progress_every=0.02)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await eventually(lambda: any(r.msg == "ingest progress" for r in caplog.records), "a progress line")
    stop.set()
    await task
    line = next(r for r in caplog.records if r.msg == "ingest progress")
    assert line.books_written >= 0 and line.failing == "-" and line.restarts == 0  # type: ignore[attr-defined]


def test_duplicate_names_are_refused(store: BookStore) -> None:
    with pytest.raises(ValueError, match="unique"):
        ConnectorRunner([Steady("okx"), Steady("okx")], CoalescingSink(store))


def test_run_connectors_blocks_for_the_duration_and_reports(store: BookStore) -> None:
    summary = run_connectors([Steady("htx"), Broken("mexc")], store, duration=0.2, backoff=FAST)
    assert summary.stats.books_written >= 1 and summary.statuses["mexc"].restarts >= 1
    assert {s.state for s in summary.statuses.values()} == {"stopped"}
    assert ("htx", "BTC-USDT") in {b.key for b in store.read_all().books}


@given(
    initial=st.floats(0.001, 10),
    factor=st.floats(1.5, 4),
    cap_ratio=st.floats(1, 1000),
    jitter_share=st.floats(0, 0.99),
    seed=st.integers(0, 2**32),
)
def test_backoff_grows_strictly_until_the_cap_and_never_exceeds_it(
    initial: float, factor: float, cap_ratio: float, jitter_share: float, seed: int
) -> None:
    policy = BackoffPolicy(
        initial=initial, factor=factor, cap=initial * cap_ratio, jitter=jitter_share * (1 - 1 / factor)
    )
    rng = random.Random(seed)
    delays = [policy.delay(n, rng) for n in range(40)]
    assert all(0 < d <= policy.cap for d in delays)
    for n in range(39):
        if initial * factor ** (n + 1) <= policy.cap:
            assert delays[n + 1] > delays[n]
    assert delays[-1] >= policy.cap * (1 - policy.jitter)


@pytest.mark.parametrize(
    "kwargs", [{"initial": 0}, {"factor": 0.5}, {"initial": 5, "cap": 1}, {"jitter": 1.0}, {"jitter": -0.1}]
)
def test_nonsense_backoff_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        BackoffPolicy(**kwargs)


def _stored_seq(store: BookStore, exchange: str) -> int:
    stored = {b.key: b for b in store.read_all().books}.get((exchange, "BTC-USDT"))
    return int(stored.meta["seq_id"]) if stored else 0


def test_the_first_signal_stops_and_the_second_goes_to_the_previous_handler() -> None:
    received: list[int] = []
    original = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        with stop_on_signals() as stop:
            os.kill(os.getpid(), signal.SIGTERM)
            assert stop.wait(20)
            assert received == []
            os.kill(os.getpid(), signal.SIGTERM)  # e.g. a second Ctrl-C while shutdown hangs
        assert received == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, original)


def test_stopping_from_another_thread_ends_a_blocking_run(store: BookStore) -> None:
    stop = threading.Event()
    steady = Steady("bitget")
    threading.Timer(0.1, stop.set).start()
    summary = run_connectors([steady], store, stop=stop)
    assert stop.is_set() and steady.cancelled and summary.statuses["bitget"].state == "stopped"
