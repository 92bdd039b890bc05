"""Benchmarks: `python -m benchmarks [--only SECTION,...]` prints one table of timings.

Each section is a module of this package with a `run(repeat: int) -> list[Row]` function,
listed in `benchmarks.__main__.SECTIONS`. Timings are taken the way production runs the
hot path: the inputs are built first, `gc.freeze()` moves them out of the collector's
sight, and the collector is disabled around the timed call.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Row:
    section: str
    case: str
    min_ms: float
    median_ms: float
    runs: int
    note: str = ""


def measure(section: str, case: str, fn: Callable[[], object], repeat: int, note: str = "") -> Row:
    """Time `fn` `repeat` times (after one untimed warm-up call) and keep min and median."""
    fn()
    gc.collect()
    gc.freeze()
    samples = []
    try:
        for _ in range(repeat):
            gc.disable()
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000.0)
            gc.enable()
    finally:
        gc.enable()
        gc.unfreeze()
    return Row(section, case, min(samples), statistics.median(samples), repeat, note)
