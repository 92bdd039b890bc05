"""The scan runtime: `run_scan()` is the one function both the Celery task and the embedded
demo's timer call.

One scan = one coherent slice of every book (one store round trip, one `now`), the engine,
then the audit (episodes in the database) and the feed (stream + channel group). A missing
Redis or database never crashes it: the scan reports what failed and the next one retries.
Scans whose audit could not be written are kept (bounded) and written, in order, before
the next scan's, so no audit row is lost to a transient database error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError, close_old_connections

from arbitrage import audit, metrics
from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import ExchangeBookCounts, Opportunity, ScanParams
from arbitrage.runtime.config import load_config
from arbitrage.runtime.feed import ScanFeed, ScanMessage, publish_scan
from arbitrage.runtime.services import Services, get_services
from exchanges.store.base import StoreUnavailable
from kernel.clock import now_ms as clock_ms

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


class _PendingAudits:
    """Scans of this process whose audit is not written yet, oldest first."""

    def __init__(self) -> None:
        self.scans: deque[_PendingAudit] = deque(maxlen=MAX_PENDING_SCANS)
        self.lock = threading.Lock()


_pending = _PendingAudits()


def _write_audits(report: ScanReport, scan: _PendingAudit) -> None:
    with _pending.lock:
        queue = _pending.scans
        queue.append(scan)
        while queue:
            head = queue[0]
            try:
                audit.record_scan(head.found, head.scanned_at, head.settings_snapshot)
            except DatabaseError as exc:
                close_old_connections()
                report.errors.append(f"audit not written, {len(queue)} scan(s) kept for retry: {exc}")
                logger.warning("audit write failed; will retry", extra={"pending": len(queue), "error": str(exc)})
                break
            queue.popleft()
        else:
            report.persisted = True
        metrics.PENDING_AUDIT.set(len(queue))


def run_scan(
    *,
    services: Services | None = None,
    now_ms: int | None = None,
    persist: bool = True,
    publish: bool = True,
) -> ScanReport:
    """Run one scan. Never raises for an unavailable store or database: see the report."""
    started = time.perf_counter()
    now_ms = clock_ms() if now_ms is None else now_ms
    report = ScanReport(ok=False, ts=now_ms)
    services = services if services is not None else get_services()
    params, fees = load_config(report.errors)

    try:
        book_slice = services.store.read_all()
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
        report,
        result.opportunities,
        params,
        services.feed,
        book_counts=result.per_exchange,
        persist=persist,
        publish=publish,
        started=started,
    )


def record_and_publish(
    report: ScanReport,
    found: list[Opportunity],
    params: ScanParams,
    feed: ScanFeed,
    *,
    book_counts: Mapping[str, ExchangeBookCounts],
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
    metrics.record_book_counts(book_counts)
    for item in found:
        metrics.OPPORTUNITIES.labels(item.type).inc()
        metrics.NET_EDGE.observe(item.net_edge_pct)

    if persist:
        scanned_at = datetime.fromtimestamp(report.ts / 1000, tz=UTC)
        _write_audits(report, _PendingAudit(found, scanned_at, params.as_dict()))
    if publish:
        publish_scan(feed, ScanMessage.of(report.ts, found))
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
