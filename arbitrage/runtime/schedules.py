"""A beat schedule whose interval follows ScannerSettings.scan_interval_sec, so an admin's
change applies without restarting beat."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import schedstate, schedule


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
