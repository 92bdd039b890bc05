"""Prometheus metrics of the scan (docs/design.md, "Observability"). Exposed at /metrics."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

from arbitrage.engine.types import ExchangeBookCounts

SCAN_DURATION = Histogram(
    "scan_duration_seconds",
    "Wall time of one scan: read, engine, persistence and publishing.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SCANS = Counter("scans_total", "Scans run, by outcome.", ["outcome"])
OPPORTUNITIES = Counter("opportunities_detected_total", "Opportunities detected, by type.", ["type"])
NET_EDGE = Histogram(
    "net_edge_distribution",
    "Net edge (%) of detected opportunities.",
    buckets=(0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 25),
)
CORRUPT_BOOKS = Counter("corrupt_books_total", "Stored books skipped because they failed validation.")
BOOKS = Gauge("books", "Books in the last scan's slice, by exchange and state.", ["exchange", "state"])
PENDING_AUDIT = Gauge("audit_pending_scans", "Scans waiting in the audit log for the database.")
SCAN_DEGRADED = Gauge("scan_degraded", "1 while the last scan was degraded (no usable book, or most books unusable).")
LAST_SCAN = Gauge("last_scan_timestamp_seconds", "When the last scan ran (its time), seconds since the epoch.")


def record_book_counts(counts: Mapping[str, ExchangeBookCounts]) -> None:
    """The last scan's books per exchange: used, stale, unhealthy and from the future."""
    BOOKS.clear()  # an exchange gone from the slice must not keep its old figures
    for exchange, count in counts.items():
        for state, value in count.as_dict().items():
            BOOKS.labels(exchange, state).set(value)
