"""Plays a recording (exchanges/recording.py) back through the normal sink and store path.

    ReplayConnector("day.jsonl.gz", speed=10)   # ten times faster than it happened
    ReplayConnector("day.jsonl.gz", speed=0)    # as fast as the sink takes it

Pacing: book i is put at `start + (ts_ingest_i - ts_ingest_0) / speed` seconds, in file
order, so the original inter-arrival times are kept, divided by `speed`. A book whose
recorded ts_ingest goes backwards (two connectors stamping close together) is put at
once: the file's order wins over its clock.

Timestamps: each book is stamped with the wall clock at the moment it is put
(`ts_ingest = now`), and `ts_event` moves with it so the recorded lag `ts_ingest -
ts_event` is kept exactly. This way the scan judges replayed books as fresh (its
staleness rule compares ts_ingest with the scan's now) and its high-lag flag sees the lag
the live market had, whatever the speed. Shifting the whole file by one offset would
instead keep the original spacing of ts_event but make books look stale at speed > 1.
The recorded instants stay in `meta` (`recorded_ts_ingest`, `recorded_ts_event`), so an
opportunity found in a replay can be traced back to the moment of the recording.

Bad lines are skipped and reported by the reader with file:line; the replay goes on.
Reaching the end of the file returns (the runner counts the connector as finished),
unless `loop` is set, in which case it starts over with fresh timestamps.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from exchanges.connectors.base import BookSink
from exchanges.recording import RecordingError, RecordingReader
from kernel.book import OrderBookSnapshot

logger = logging.getLogger(__name__)

# Sleeps shorter than this are not worth a trip through the event loop's timer; books due
# within it go out together.
_MIN_SLEEP_SEC = 0.001
# At full speed, let the sink's flush loop (and everything else on the loop) run this often.
_YIELD_EVERY = 500


def parse_speed(text: str) -> float:
    """`--speed` values: a factor > 0, or 0 / "max" for as fast as possible (returned as 0).

    Raises ValueError with a message fit for a one-line command error.
    """
    cleaned = text.strip().lower()
    if cleaned in ("max", "0"):
        return 0.0
    try:
        speed = float(cleaned)
    except ValueError:
        raise ValueError(f"expected a positive factor or 'max', got {text!r}") from None
    if not math.isfinite(speed) or speed < 0:
        raise ValueError(f"expected a positive factor or 'max', got {text!r}")
    return speed


class ReplayConnector:
    """A connector (see base.py) reading books from a recording instead of an exchange."""

    name = "replay"

    def __init__(
        self,
        file: str | os.PathLike[str],
        speed: float = 1.0,
        *,
        loop: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not math.isfinite(speed) or speed < 0:
            raise ValueError(f"speed must be a finite factor >= 0 (0 = as fast as possible), got {speed}")
        self.path = Path(file)
        # Fail at construction, where the ingest command can still turn it into a flag
        # error, rather than in a connector the runner would restart forever.
        RecordingReader(self.path)
        self.speed = speed
        self.loop = loop
        self._clock = clock
        self.books_replayed = 0
        self.bad_lines = 0

    async def run(self, sink: BookSink) -> None:
        while True:
            replayed = await self._play_once(sink)
            if not self.loop:
                return
            if not replayed:  # a file with no valid book would spin the loop
                raise RecordingError(f"{self.path}: no valid book to replay")

    async def _play_once(self, sink: BookSink) -> int:
        reader = RecordingReader(self.path)
        loop = asyncio.get_running_loop()
        started = loop.time()
        first_ms: int | None = None
        due = started
        replayed = 0
        for book in reader:
            if first_ms is None:
                first_ms = book.ts_ingest
            if self.speed:
                # Never earlier than the previous book: the file's order wins.
                due = max(due, started + (book.ts_ingest - first_ms) / 1000.0 / self.speed)
                wait = due - loop.time()
                if wait >= _MIN_SLEEP_SEC:
                    await asyncio.sleep(wait)
            elif self.books_replayed % _YIELD_EVERY == 0:  # never starve the loop, even looping a tiny file
                await asyncio.sleep(0)
            sink.put(self._restamp(book))
            replayed += 1
            self.books_replayed += 1
        self.bad_lines += reader.bad_line_count
        logger.info(
            "replay reached the end of the recording",
            extra={
                "file": str(self.path),
                "books": replayed,
                "bad_lines": reader.bad_line_count,
                "speed": self.speed or "max",
                "elapsed_sec": round(loop.time() - started, 3),
            },
        )
        return replayed

    def _restamp(self, book: OrderBookSnapshot) -> OrderBookSnapshot:
        now_ms = int(self._clock() * 1000)
        lag = book.ts_ingest - book.ts_event
        book.meta["recorded_ts_ingest"] = book.ts_ingest
        book.meta["recorded_ts_event"] = book.ts_event
        book.ts_ingest = now_ms
        # A recorded lag can exceed now (a corrupt clock): clamp, parse_book refuses < 0.
        book.ts_event = max(0, now_ms - lag)
        return book
