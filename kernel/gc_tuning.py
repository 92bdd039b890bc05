"""The cyclic garbage collector, tuned for processes that decode thousands of books.

A scan decodes hundreds of thousands of small lists and an ingest process keeps tens of
thousands of levels alive. With Python's default thresholds the collector walks them again
and again: 4-10x the decode time in a populated process, and 110-125 ms pauses in ingest
(docs/benchmarks.md has the figures). JSON values form no reference cycles, so keeping
them out of the collector loses nothing: refcounting frees them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def freeze_startup() -> None:
    """Move everything start-up allocated (Django, ccxt's classes) out of the collector's
    reach: full collections no longer walk it. Call once, when start-up is done."""
    gc.collect()
    gc.freeze()


def tune_gc() -> None:
    """For a long-running scanner process (Celery worker, demo): freeze what start-up
    allocated and collect young objects less often. Nothing here leaks; collection only
    comes later."""
    freeze_startup()
    gc.set_threshold(50_000, 20, 100)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic GC while a slice is decoded, then file the new objects as old.

    Decoding ~7,000 books allocates ~300,000 lists. With the collector running, every 700
    allocations start a young collection that walks them and the survivors trigger older
    ones: the decode took 3-4x longer in a populated process (~280 ms against ~75). Merely
    held, the collector's first pass on resuming still walks the whole live slice (~30 ms).
    So the new objects go straight to the oldest generation (gc.freeze() + gc.unfreeze():
    two list splices) and refcounting frees them when the scan drops them. Young objects
    of other threads move along and wait for the next full collection: a delay, not a
    leak. A process that froze objects on purpose (before forking) is left alone.
    """
    if not gc.isenabled():  # held by someone else (an outer scan): leave it to them
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()
