"""Time as the product counts it: milliseconds since the Unix epoch, as integers."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Wall-clock time in ms since the epoch (the unit of `ts_event`, `ts_ingest` and scans)."""
    return int(time.time() * 1000)
