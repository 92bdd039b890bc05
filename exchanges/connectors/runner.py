"""Runs connectors side by side, each on its own, until told to stop.

Each connector gets a supervisor task: when the connector raises, the supervisor logs it,
counts a restart and starts it again after an exponential backoff with jitter (capped),
while the other connectors and the sink carry on untouched. A connector that stayed up
for `healthy_after` seconds starts its next backoff from the beginning again.

`ConnectorRunner.run(stop)` is the async API; `run_connectors(...)` wraps it for callers
that are not async and stop it with a `threading.Event`: the `ingest` command (whose
event `stop_on_signals()` sets on Ctrl-C / SIGTERM) and the embedded demo (which runs it
in a background thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Literal

from exchanges.connectors.base import CoalescingSink, Connector, SinkStats, describe_error
from exchanges.store.base import BookStore


class ConnectorCancelled(Exception):
    """A connector's task ended in a CancelledError nobody asked for."""


logger = logging.getLogger(__name__)

ConnectorState = Literal["starting", "running", "backoff", "finished", "stopped"]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Delay before restart n (0-based): min(cap, initial * factor**n), minus up to `jitter`.

    The jitter only shortens a delay, so the cap holds and 14 exchanges that dropped
    together do not reconnect in lockstep; with jitter < 1 - 1/factor consecutive delays
    still grow strictly until the cap.
    """

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: float = 0.25
    healthy_after: float = 60.0

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.factor < 1 or self.cap < self.initial:
            raise ValueError("backoff needs initial > 0, factor >= 1 and cap >= initial")
        if not 0 <= self.jitter < 1:
            raise ValueError("backoff jitter must be in [0, 1)")

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.cap, self.initial * self.factor ** min(attempt, 64))
        return base * (1 - self.jitter * rng.random())


@dataclass(slots=True)
class ConnectorStatus:
    name: str
    state: ConnectorState = "starting"
    restarts: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    recent_delays: deque[float] = field(default_factory=lambda: deque(maxlen=16))


class ConnectorRunner:
    def __init__(
        self,
        connectors: Sequence[Connector],
        sink: CoalescingSink,
        backoff: BackoffPolicy | None = None,
        rng: random.Random | None = None,
        progress_every: float | None = None,
    ) -> None:
        names = [c.name for c in connectors]
        if len(set(names)) != len(names):
            raise ValueError(f"connector names must be unique, got {names}")
        if not connectors:
            raise ValueError("no connectors to run")
        self._connectors = list(connectors)
        self.sink = sink
        self._backoff = backoff or BackoffPolicy()
        self._rng = rng or random.Random()
        self._progress_every = progress_every
        self.statuses: dict[str, ConnectorStatus] = {name: ConnectorStatus(name) for name in names}

    @property
    def restarts(self) -> int:
        return sum(s.restarts for s in self.statuses.values())

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set or every connector finished; then drain the sink."""
        flusher = asyncio.create_task(self.sink.run(), name="book-sink")
        supervisors = [
            asyncio.create_task(self._supervise(c, stop), name=f"connector-{c.name}") for c in self._connectors
        ]
        helpers: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait(), name="stop")]
        if self._progress_every:
            helpers.append(asyncio.create_task(self._report_progress(self._progress_every), name="progress"))
        stop_task = helpers[0]
        try:
            running = set(supervisors)
            while running:
                done, _ = await asyncio.wait({stop_task, flusher, *running}, return_when=asyncio.FIRST_COMPLETED)
                running -= done
                if stop_task in done or flusher in done:
                    break
            if flusher.done():
                flusher.result()  # the flush loop never ends on its own: surface its bug
        finally:
            for task in [*supervisors, *helpers, flusher]:
                task.cancel()
            outcomes = await asyncio.gather(*supervisors, *helpers, flusher, return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, Exception):
                    logger.error("ingest task crashed", exc_info=outcome)
            for status in self.statuses.values():
                if status.state != "finished":
                    status.state = "stopped"
            if not await self.sink.flush():
                logger.warning("books still pending at shutdown were not written", extra={"books": self.sink.pending})
            if stop.is_set():
                # Stopped, not finished: nothing keeps these books current from now on, so
                # the scan must not take them for the market (a finished replay's stay).
                flagged = await self.sink.mark_all_unhealthy("ingest stopped")
                logger.info("ingest stopped: its books are marked unhealthy", extra={"books": flagged})

    async def _supervise(self, connector: Connector, stop: asyncio.Event) -> None:
        error: BaseException | None
        status = self.statuses[connector.name]
        loop = asyncio.get_running_loop()
        attempt = 0
        while not stop.is_set():
            started = loop.time()
            status.state = "running"
            try:
                await connector.run(self.sink)
            except asyncio.CancelledError as exc:
                current = asyncio.current_task()
                if stop.is_set() or current is None or current.cancelling():
                    raise  # we are being stopped
                # A future inside the connector was cancelled under it (ccxt cancels every
                # pending watch of a connection it closes): a failure like any other, never
                # a silent end of the exchange's ingest.
                error = ConnectorCancelled(
                    f"{connector.name}: a pending operation was cancelled ({exc or 'no detail'})"
                )
            except Exception as exc:
                error = exc
            else:
                error = None
            if stop.is_set():
                return
            if error is None:
                status.state = "finished"
                logger.info("connector finished", extra={"connector": connector.name})
                return
            if loop.time() - started >= self._backoff.healthy_after:
                attempt = 0
            delay = self._backoff.delay(attempt, self._rng)
            attempt += 1
            status.state = "backoff"
            status.restarts += 1
            status.consecutive_failures = attempt
            status.last_error = describe_error(error)
            status.recent_delays.append(delay)
            logger.warning(
                "connector failed; restarting after backoff",
                extra={
                    "connector": connector.name,
                    "error": status.last_error,
                    "restart_in_sec": round(delay, 3),
                    "restarts": status.restarts,
                },
                # The first failure of a streak carries the traceback; repeats do not flood.
                exc_info=error if attempt == 1 else None,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _report_progress(self, every: float) -> None:
        loop = asyncio.get_running_loop()
        previous, since = self.sink.stats.copy(), loop.time()
        while True:
            await asyncio.sleep(every)
            now, current = loop.time(), self.sink.stats.copy()
            elapsed = max(now - since, 1e-9)
            written = current.books_written - previous.books_written
            failing = sorted(s.name for s in self.statuses.values() if s.state == "backoff")
            logger.info(
                "ingest progress",
                extra={
                    "books_written": written,
                    "books_per_sec": round(written / elapsed, 1),
                    "store_writes": current.writes - previous.writes,
                    "write_errors": current.write_errors - previous.write_errors,
                    "pending": self.sink.pending,
                    "restarts": self.restarts,
                    "failing": ",".join(failing) or "-",
                    "interval_sec": round(elapsed, 3),
                },
            )
            previous, since = current, now


@dataclass(frozen=True, slots=True)
class RunSummary:
    stats: SinkStats
    statuses: dict[str, ConnectorStatus]


def run_connectors(
    connectors: Sequence[Connector],
    store: BookStore,
    *,
    stop: threading.Event | None = None,
    duration: float | None = None,
    flush_interval: float = 0.1,
    backoff: BackoffPolicy | None = None,
    progress_every: float | None = None,
) -> RunSummary:
    """Blocking: run the connectors into `store` until `stop` is set, `duration` seconds
    passed, or every connector finished. See `stop_on_signals` for Ctrl-C."""

    async def main() -> RunSummary:
        sink = CoalescingSink(store, flush_interval=flush_interval)
        runner = ConnectorRunner(connectors, sink, backoff=backoff, progress_every=progress_every)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        if duration is not None:
            loop.call_later(duration, stopping.set)
        watcher = asyncio.create_task(_watch_thread_event(stop, stopping)) if stop is not None else None
        try:
            await runner.run(stopping)
        finally:
            if watcher is not None:
                watcher.cancel()
        return RunSummary(sink.stats.copy(), runner.statuses)

    return asyncio.run(main())


async def _watch_thread_event(event: threading.Event, stopping: asyncio.Event) -> None:
    # Polling keeps no thread parked on event.wait(), which would hold up interpreter exit.
    while not event.is_set():
        await asyncio.sleep(0.1)
    stopping.set()


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by the first SIGINT (Ctrl-C) or SIGTERM (docker stop) while inside.

    Installed for the whole block, so a signal that lands while the command is still
    starting up stops it as cleanly as one that lands later. The first signal restores
    the previous handlers: a second Ctrl-C during a shutdown that hangs interrupts as
    usual. Off the main thread, where Python cannot take signals, the event is plain.
    """
    stop = threading.Event()
    previous: dict[int, Any] = {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()
        for number, handler in previous.items():
            signal.signal(number, handler)

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
