"""Saying a thing once in a while: a log line repeated every scan buries everything else."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """Per key, lets one event through every `every_sec` seconds and counts the ones held
    back in between, so the next line can say how many there were."""

    def __init__(self, every_sec: float, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.every_sec = every_sec
        self._clock = clock
        self._max_keys = max_keys
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._guard = threading.Lock()

    def allow(self, key: str) -> int | None:
        """None to hold this one back; else how many were held back since the last one."""
        now = self._clock()
        with self._guard:
            last = self._last.get(key)
            if last is not None and now - last < self.every_sec:
                self._held[key] = self._held.get(key, 0) + 1
                return None
            if len(self._last) >= self._max_keys:  # bounded memory whatever junk comes
                self._last.clear()
                self._held.clear()
            self._last[key] = now
            return self._held.pop(key, 0)
