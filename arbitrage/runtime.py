"""The scan runtime: `run_scan()` is the one function both the Celery task and the embedded
demo's timer call.

One scan = one coherent slice of every book (one store round trip, one `now`), the engine,
then the audit (episodes in the database) and the feed (stream + channel group). A missing
Redis or database never crashes it: the scan reports what failed and the next one retries.
Scans whose audit could not be written are kept (bounded) and written, in order, before
the next scan's, so no audit row is lost to a transient database error.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError, close_old_connections
from redis.exceptions import RedisError
from redis.lock import Lock

from arbitrage import episodes, feed, metrics
from arbitrage.config_source import load_scan_config
from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import FeeSchedule, Opportunity, ScanParams
from exchanges.store import get_book_store
from exchanges.store.base import BookStore, StoreUnavailable
from exchanges.store.redis_store import RedisBookStore

logger = logging.getLogger(__name__)

MAX_PENDING_SCANS = 720  # an hour of 5 s scans


@dataclass(slots=True)
class _PendingAudit:
    found: list[Opportunity]
    scanned_at: datetime
    settings_snapshot: dict[str, Any]


@dataclass(slots=True)
class ScanReport:
    ok: bool
    ts: int
    opportunities: int = 0
    books_total: int = 0
    books_used: int = 0
    corrupt_books: int = 0
    duration_ms: float = 0.0
    persisted: bool = False
    published: bool = False
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _State:
    """Per-process memory of the runtime: the last good config and unwritten audits."""

    def __init__(self) -> None:
        self.config: tuple[ScanParams, FeeSchedule] | None = None
        self.pending: deque[_PendingAudit] = deque(maxlen=MAX_PENDING_SCANS)
        self.lock = threading.Lock()


_state = _State()


def load_config(errors: list[str]) -> tuple[ScanParams, FeeSchedule]:
    """The scan settings from the database; while it is unreachable, the last ones this
    process read (or the defaults), with the reason appended to `errors`."""
    try:
        _state.config = load_scan_config()
    except DatabaseError as exc:
        close_old_connections()
        errors.append(f"settings unavailable, using the last known: {exc}")
        logger.warning("scan settings unavailable", extra={"error": str(exc)})
    return _state.config or (ScanParams(), FeeSchedule())


def _write_audits(report: ScanReport, audit: _PendingAudit) -> None:
    _state.pending.append(audit)
    while _state.pending:
        head = _state.pending[0]
        try:
            episodes.record_scan(head.found, head.scanned_at, head.settings_snapshot)
        except DatabaseError as exc:
            close_old_connections()
            report.errors.append(f"audit not written, {len(_state.pending)} scan(s) kept for retry: {exc}")
            logger.warning("audit write failed; will retry", extra={"pending": len(_state.pending), "error": str(exc)})
            break
        _state.pending.popleft()
    else:
        report.persisted = True
    metrics.PENDING_AUDIT.set(len(_state.pending))


def run_scan(
    *,
    store: BookStore | None = None,
    now_ms: int | None = None,
    persist: bool = True,
    publish: bool = True,
) -> ScanReport:
    """Run one scan. Never raises for an unavailable store or database: see the report."""
    started = time.perf_counter()
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    report = ScanReport(ok=False, ts=now_ms)
    store = store if store is not None else get_book_store()
    params, fees = load_config(report.errors)

    try:
        book_slice = store.read_all()
    except StoreUnavailable as exc:
        report.errors.append(str(exc))
        logger.error("scan skipped: book store unavailable", extra={"error": str(exc)})
        metrics.SCANS.labels("store_unavailable").inc()
        return report

    result = scan_books(book_slice.books, now_ms, params, fees)
    report.books_total = len(book_slice.books)
    report.books_used = result.books_used
    report.corrupt_books = len(book_slice.corrupt)
    return record_and_publish(
        report, result.opportunities, params, store, persist=persist, publish=publish, started=started
    )


def record_and_publish(
    report: ScanReport,
    found: list[Opportunity],
    params: ScanParams,
    store: BookStore,
    *,
    persist: bool,
    publish: bool,
    started: float,
    clock: Callable[[], float] = time.perf_counter,
    **log_extra: Any,
) -> ScanReport:
    """The end every scan shares, whole (`run_scan`) or merged from shards: metrics, the
    audit of `found` as the scan of `report.ts`, the feed message, the verdict and the log
    line. `started` is when the scan began on `clock` (the merge of a sharded scan runs in
    another process than its dispatch, so it passes wall-clock time)."""
    report.opportunities = len(found)
    metrics.CORRUPT_BOOKS.inc(report.corrupt_books)
    for item in found:
        metrics.OPPORTUNITIES.labels(item.type).inc()
        metrics.NET_EDGE.observe(item.net_edge_pct)

    if persist:
        scanned_at = datetime.fromtimestamp(report.ts / 1000, tz=UTC)
        _write_audits(report, _PendingAudit(found, scanned_at, params.as_dict()))
    if publish:
        feed.publish(store, feed.scan_message(report.ts, found))
        report.published = True

    report.ok = not report.errors
    report.duration_ms = (clock() - started) * 1000
    metrics.SCAN_DURATION.observe(report.duration_ms / 1000)
    metrics.SCANS.labels("ok" if report.ok else "degraded").inc()
    logger.info(
        "scan done",
        extra={
            "books": report.books_total,
            "used": report.books_used,
            "corrupt": report.corrupt_books,
            "found": report.opportunities,
            "ms": round(report.duration_ms, 1),
            "persisted": report.persisted,
            **log_extra,
        },
    )
    return report


def tune_gc() -> None:
    """Call once a long-running scanner process has started (Celery worker, demo).

    A scan decodes hundreds of thousands of small lists; with Python's default thresholds
    the cyclic collector walks them again and again (4-10x the decode time, see
    PERFORMANCE-NOTES). Freezing what start-up allocated and collecting young objects less
    often keeps that cost away; nothing here leaks, collection only comes later.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


@contextmanager
def scan_guard(store: BookStore | None = None, timeout_sec: float = 60.0) -> Iterator[bool]:
    """Yields True when this caller may scan now, False when a scan is already running
    (here or, with Redis, in any worker): an overrunning scan never piles up behind itself."""
    store = store if store is not None else get_book_store()
    shared_lock = getattr(store, "scan_lock", None)
    if shared_lock is not None:
        lock = shared_lock(timeout_sec)
        try:
            acquired = bool(lock.acquire(blocking=False))
        except RedisError:
            # Redis is down: let the scan run and report the outage itself.
            yield True
            return
        try:
            yield acquired
        finally:
            if acquired:
                with contextlib.suppress(RedisError):  # expired or Redis gone: nothing to free
                    lock.release()
        return
    acquired = _state.lock.acquire(blocking=False)
    try:
        yield acquired
    finally:
        if acquired:
            _state.lock.release()


def hold_scan_lock(store: RedisBookStore, timeout_sec: float) -> str | None:
    """Take the scan lock for a scan that spans processes (a sharded scan, from its
    fan-out to its merge): returns the token that proves and frees the hold, or None when
    another scan holds the lock. The lock frees itself after `timeout_sec` should the scan
    never finish. Raises StoreUnavailable when Redis cannot be reached."""
    token = uuid.uuid4().hex
    try:
        acquired = store.scan_lock(timeout_sec).acquire(blocking=False, token=token)
    except RedisError as exc:
        raise StoreUnavailable(f"Redis at {store.url} failed to take the scan lock: {exc}") from exc
    return token if acquired else None


def _held_lock(store: RedisBookStore, token: str) -> Lock:
    lock = store.scan_lock(1.0)  # the timeout only matters to acquire()
    lock.local.token = token.encode()  # what acquire() stores: the hold is ours to check or free
    return lock


def scan_lock_held(store: RedisBookStore, token: str) -> bool:
    """Whether the hold of `token` is still on (not expired, so no newer scan started).
    Raises StoreUnavailable when Redis cannot be reached."""
    try:
        return _held_lock(store, token).owned()
    except RedisError as exc:
        raise StoreUnavailable(f"Redis at {store.url} failed to check the scan lock: {exc}") from exc


def release_scan_lock(store: RedisBookStore, token: str) -> None:
    """Free the hold of `token`; a hold that expired (perhaps taken since by another
    scan) is left alone."""
    with contextlib.suppress(RedisError):  # LockNotOwnedError included
        _held_lock(store, token).release()
