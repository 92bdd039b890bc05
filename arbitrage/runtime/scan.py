"""The scan runtime: `run_scan()` is the one function both the Celery task and the embedded
demo's timer call.

One scan = one coherent slice of every book (one store round trip, one `now`), the engine,
then the audit and the feed. The audit goes through the durable audit log
(arbitrage.runtime.audit_log): the scan appends its outcome and drains the log in order,
so a database outage or a dying worker loses no scan and never reorders the episodes. A
missing Redis or database never crashes a scan: it reports what failed and the next one
retries. A scan that could use no book, or fewer than half of them, is degraded: a
warning, a metric, /readyz and the dashboard say so; it is never an "ok" scan.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import DatabaseError, close_old_connections

from arbitrage import metrics
from arbitrage.audit import ScanOutcome, apply_scan
from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import ExchangeBookCounts, Opportunity, ScanParams
from arbitrage.runtime.audit_log import drain
from arbitrage.runtime.config import load_config
from arbitrage.runtime.feed import ScanMessage, ScanStatus, latest_or_none, publish_scan
from arbitrage.runtime.services import Services, get_services
from exchanges.store.base import StoreUnavailable
from kernel.clock import now_ms as clock_ms

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class ScanReport:
    ok: bool
    ts: int  # also the scan's id
    opportunities: int = 0
    books_total: int = 0
    books_used: int = 0
    books_stale: int = 0
    books_unhealthy: int = 0
    books_future: int = 0
    corrupt_books: int = 0
    degraded_reason: str = ""
    duration_ms: float = 0.0
    persisted: bool = False  # this scan reached the audit
    audit_pending: int = 0  # scans still waiting for the database
    published: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def degraded(self) -> bool:
        return bool(self.degraded_reason)

    def count_books(self, counts: Mapping[str, ExchangeBookCounts]) -> None:
        self.books_stale = sum(c.stale for c in counts.values())
        self.books_unhealthy = sum(c.unhealthy for c in counts.values())
        self.books_future = sum(c.future for c in counts.values())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def degradation(report: ScanReport) -> str:
    """Why the scan's slice cannot be trusted to show the market, or "" when it can."""
    seen = report.books_total + report.corrupt_books
    if seen == 0:
        return "no book in the store: is ingest running?"
    unusable = report.books_stale + report.books_unhealthy + report.books_future + report.corrupt_books
    if report.books_used > 0 and unusable <= report.books_used:
        return ""
    what = (
        f"{report.books_stale} stale, {report.books_unhealthy} unhealthy, "
        f"{report.books_future} stamped in the future, {report.corrupt_books} corrupt"
    )
    if report.books_used == 0:
        return f"no usable book of {seen}: {what}"
    return f"most books unusable, {report.books_used} used of {seen}: {what}"


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
        report.degraded_reason = "the book store is unavailable"
        logger.error("scan skipped: book store unavailable", extra={"error": str(exc)})
        metrics.SCANS.labels("store_unavailable").inc()
        metrics.SCAN_DEGRADED.set(1)
        return report

    result = scan_books(book_slice.books, now_ms, params, fees)
    report.books_total = len(book_slice.books)
    report.books_used = result.books_used
    report.corrupt_books = len(book_slice.corrupt)
    return record_and_publish(
        report,
        result.opportunities,
        params,
        services,
        book_counts=result.per_exchange,
        persist=persist,
        publish=publish,
        started=started,
    )


def record_and_publish(
    report: ScanReport,
    found: list[Opportunity],
    params: ScanParams,
    services: Services,
    *,
    book_counts: Mapping[str, ExchangeBookCounts],
    persist: bool,
    publish: bool,
    started: float,
    clock: Callable[[], float] = time.perf_counter,
    shards: int = 1,
) -> ScanReport:
    """The end every scan shares, whole (`run_scan`) or merged from shards: the verdict,
    metrics, the audit of `found` as the scan of `report.ts`, the feed message and status,
    and the log line. `started` is when the scan began on `clock` (the merge of a sharded
    scan runs in another process than its dispatch, so it passes wall-clock time)."""
    report.opportunities = len(found)
    report.count_books(book_counts)
    report.degraded_reason = degradation(report)
    metrics.CORRUPT_BOOKS.inc(report.corrupt_books)
    metrics.record_book_counts(book_counts)
    for item in found:
        metrics.OPPORTUNITIES.labels(item.type).inc()
        metrics.NET_EDGE.observe(item.net_edge_pct)

    if persist:
        report.duration_ms = (clock() - started) * 1000
        _audit(report, _outcome(report, found, params, shards), services)
    if publish:
        publish_scan(services.feed, ScanMessage.of(report.ts, found, latest_or_none(services.feed)))
        report.published = True
        _set_status(report, services)

    report.ok = not report.errors and not report.degraded
    report.duration_ms = (clock() - started) * 1000
    metrics.SCAN_DURATION.observe(report.duration_ms / 1000)
    metrics.SCANS.labels("degraded" if report.degraded else "ok" if report.ok else "failed").inc()
    metrics.SCAN_DEGRADED.set(1 if report.degraded else 0)
    metrics.LAST_SCAN.set(report.ts / 1000)
    extra = {
        "scan": report.ts,
        "books": report.books_total,
        "used": report.books_used,
        "stale": report.books_stale,
        "unhealthy": report.books_unhealthy,
        "future": report.books_future,
        "corrupt": report.corrupt_books,
        "found": report.opportunities,
        "ms": round(report.duration_ms, 1),
        "persisted": report.persisted,
        "audit_pending": report.audit_pending,
        "shards": shards,
    }
    if report.degraded:
        logger.warning(f"scan degraded: {report.degraded_reason}", extra=extra)
    else:
        logger.info("scan done", extra=extra)
    return report


def _outcome(report: ScanReport, found: list[Opportunity], params: ScanParams, shards: int) -> ScanOutcome:
    return ScanOutcome(
        id=report.ts,
        duration_ms=report.duration_ms,
        books_total=report.books_total,
        books_used=report.books_used,
        books_stale=report.books_stale,
        books_unhealthy=report.books_unhealthy,
        books_future=report.books_future,
        books_corrupt=report.corrupt_books,
        opportunities=found,
        settings_snapshot=params.as_dict(),
        degraded_reason=report.degraded_reason,
        errors=list(report.errors),
        shards=shards,
    )


def _audit(report: ScanReport, outcome: ScanOutcome, services: Services) -> None:
    """Into the durable log, then the log into the database, oldest first."""
    try:
        services.audit.append(outcome)
    except StoreUnavailable as exc:
        # No log to keep it in: straight to the database, or lost (and said so).
        report.errors.append(f"audit log unavailable, writing directly: {exc}")
        try:
            apply_scan(outcome)
            report.persisted = True
        except DatabaseError as db_exc:
            close_old_connections()
            report.errors.append(f"scan {outcome.id} lost to the audit: Redis and the database both failed: {db_exc}")
            logger.error("scan lost to the audit", extra={"scan": outcome.id, "error": str(db_exc)})
        return
    try:
        drained = drain(services.audit, apply_scan)
    except StoreUnavailable as exc:
        report.errors.append(f"audit log unavailable, the scan waits in it: {exc}")
        return
    report.persisted = outcome.id in drained.outcomes
    report.audit_pending = drained.left
    metrics.PENDING_AUDIT.set(drained.left)
    if drained.error is not None:
        report.errors.append(f"audit not written, {drained.left} scan(s) wait in the audit log: {drained.error}")
        logger.warning("audit write failed; the scans wait in the audit log", extra={"pending": drained.left})


def _set_status(report: ScanReport, services: Services) -> None:
    status = ScanStatus(
        ts=report.ts,
        books_total=report.books_total,
        books_used=report.books_used,
        opportunities=report.opportunities,
        degraded_reason=report.degraded_reason,
        errors=tuple(report.errors),
    )
    try:
        services.feed.set_status(status.following(services.feed.status()))
    except StoreUnavailable as exc:
        report.errors.append(f"scan status not recorded: {exc}")
