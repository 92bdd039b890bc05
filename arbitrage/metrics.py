"""Prometheus metrics of the scan and its schedule (docs/design.md, "Observability"),
served by the process that counts them (cli.exporter): scans in the Celery worker (or the
embedded demo's web process), beat's in beat.

Gauges say how they combine across a worker's pool processes (multiprocess mode): the
most recent value for the state of the last scan, the highest for a time.
"""

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
BOOKS = Gauge(
    "books",
    "Books in the last scan's slice, by exchange and state.",
    ["exchange", "state"],
    multiprocess_mode="mostrecent",
)
PENDING_AUDIT = Gauge(
    "audit_pending_scans", "Scans waiting in the audit log for the database.", multiprocess_mode="mostrecent"
)
SCAN_DEGRADED = Gauge(
    "scan_degraded",
    "1 while the last scan was degraded (no usable book, or most books unusable).",
    multiprocess_mode="mostrecent",
)
LAST_SCAN = Gauge(
    "last_scan_timestamp_seconds",
    "When the last scan ran (its time), seconds since the epoch.",
    multiprocess_mode="max",
)
# Every series exists from the start (at 0): rate() and alerts see the first event too.
for _outcome in ("ok", "degraded", "failed", "store_unavailable", "not_sent", "incomplete"):
    SCANS.labels(_outcome)
for _type in ("spatial", "triangular"):
    OPPORTUNITIES.labels(_type)

BEAT_LEADER = Gauge("beat_leader", "1 while this beat holds the leader lease and sends tasks.")
BEAT_TASKS_SENT = Counter("beat_tasks_sent_total", "Periodic tasks this beat sent, by schedule entry.", ["entry"])


_reported: set[tuple[str, str]] = set()


def record_book_counts(counts: Mapping[str, ExchangeBookCounts]) -> None:
    """The last scan's books per exchange: used, stale, unhealthy and from the future."""
    current = {
        (exchange, state): value for exchange, count in counts.items() for state, value in count.as_dict().items()
    }
    # An exchange gone from the slice must not keep its old figures. Its series go to 0
    # rather than away: Gauge.clear() does nothing in multiprocess mode.
    for series in _reported - current.keys():
        BOOKS.labels(*series).set(0)
    for series, value in current.items():
        BOOKS.labels(*series).set(value)
    _reported.update(current)
