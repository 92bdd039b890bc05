"""Prometheus metrics of the scan (DESIGN.md section 7). Exposed at /metrics."""

from prometheus_client import Counter, Gauge, Histogram

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
PENDING_AUDIT = Gauge("audit_pending_scans", "Scans waiting to be written to the database after an error.")
