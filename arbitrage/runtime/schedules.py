"""Celery beat's side of the scan cadence.

- `ScannerIntervalSchedule`: the scan's interval follows ScannerSettings.scan_interval_sec,
  so an admin's change applies without restarting beat.
- `LeaderScheduler`: exactly one beat sends tasks, however many run. Each holds off until it
  holds the leader lease (Redis in full mode) and renews it at every tick; a second beat
  started by mistake waits, and takes over within one lease when the leader dies. The
  schedule lives in memory, so beat writes no state file.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from celery.beat import ScheduleEntry, Scheduler
from celery.schedules import schedstate, schedule

from arbitrage import metrics
from exchanges.store.base import StoreUnavailable

logger = logging.getLogger(__name__)


class ScannerIntervalSchedule(schedule):
    def __init__(self, default_sec: float = 5.0, refresh_sec: float = 5.0, **kwargs: Any) -> None:
        super().__init__(run_every=timedelta(seconds=default_sec), **kwargs)
        self.default_sec = default_sec
        self.refresh_sec = refresh_sec
        self._interval_sec = default_sec
        self._read_at = 0.0

    def _refresh(self) -> None:
        if time.monotonic() - self._read_at < self.refresh_sec:
            return
        self._read_at = time.monotonic()
        from arbitrage.runtime.config import scan_interval_sec

        # While the database is away: the interval in force.
        self._interval_sec = scan_interval_sec(fallback=self._interval_sec)
        self.run_every = timedelta(seconds=self._interval_sec)

    def is_due(self, last_run_at: datetime) -> schedstate:
        self._refresh()
        return super().is_due(last_run_at)

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (self.default_sec, self.refresh_sec))

    def __repr__(self) -> str:
        return f"<ScannerIntervalSchedule: every {self.run_every.total_seconds()} s>"


class LeaderScheduler(Scheduler):
    """celery beat's in-memory scheduler, sending only while it holds the leader lease."""

    #: The lease's time to live: how long a dead leader's lease outlives it. Ticks come at
    #: least three times per lease, so a live leader always renews in time.
    lease_sec = 6.0
    #: While the lease's store (Redis, the broker too) is away, how soon to look again: the
    #: first tick after it is back sends the scan that fell due meanwhile.
    store_retry_sec = 0.2

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._token: str | None = None
        self._store_down = False
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        leading = self._leading()
        metrics.BEAT_LEADER.set(1 if leading else 0)
        if not leading:
            return self.store_retry_sec if self._store_down else self.lease_sec / 3
        delay: float = super().tick(*args, **kwargs)
        return min(delay, self.lease_sec / 3)

    def apply_async(self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **kwargs: Any) -> Any:
        result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        metrics.BEAT_TASKS_SENT.labels(entry.name).inc()  # sent: a failure raised above
        return result

    def _leading(self) -> bool:
        from arbitrage.runtime.services import get_services

        lease = get_services().leader
        was_leading = self._token is not None
        try:
            if self._token is not None and not lease.renew(self._token, self.lease_sec):
                self._token = None
            if self._token is None:
                self._token = lease.acquire(self.lease_sec)
        except StoreUnavailable as exc:
            # Without the lease no beat can know it is alone: none sends until it is back.
            if was_leading:
                logger.warning("beat: leader lease unavailable; sending nothing", extra={"error": str(exc)})
            self._token = None
            self._store_down = True
            return False
        self._store_down = False
        if self._token is not None and not was_leading:
            logger.info("beat: this scheduler leads; sending tasks")
        elif self._token is None and was_leading:
            logger.warning("beat: leadership lost to another scheduler; standing by")
        return self._token is not None

    def close(self) -> None:
        if self._token is not None:
            from arbitrage.runtime.services import get_services

            get_services().leader.release(self._token)  # the standby takes over at once
            self._token = None
        super().close()
