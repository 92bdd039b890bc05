"""Prometheus metrics of market data ingestion (docs/design.md, "Observability").

They live in the `ingest` process; `manage.py ingest --metrics-port PORT` serves them at
http://HOST:PORT/metrics. Every series is labelled by exchange:

- `md_lag_ms`: exchange timestamp to our receipt of the newest book written, in ms (clock
  skew between the exchange and this host is included).
- `md_book_updates_total` / `md_updates_per_second`: order book updates received from the
  exchange (after ccxt applied them), as a counter for rate() and as the rate over the
  last metrics refresh.
- `ws_reconnects_total{reason}`: websocket connections re-established after a drop
  (`closed`), a silent stream the watchdog caught (`silence`), or an error (`error`).
- `orderbook_gap_events_total{kind}`: books found wrong and resynced from a fresh
  snapshot: `sequence` (an update id gap), `checksum` (a checksum mismatch), `invalid` (a
  crossed or malformed book), `silence` (one book silent while its stream was alive).
- `orderbook_snapshot_errors_total`: failed snapshot requests (HTTP 429/5xx, timeouts)
  after ccxt's own retries; the book is retried after a backoff.
- `books_healthy` / `books_stale` / `books_unhealthy`: books by state now: healthy is
  in sync and updated within `stale_after_sec`, stale is in sync but older, unhealthy is
  known wrong or still waiting for its first snapshot.

The scan process has its own `books{exchange,state}` gauge (arbitrage/metrics.py): what
the scan used, as opposed to what ingest holds.
"""

from __future__ import annotations

from typing import get_args

from prometheus_client import Counter, Gauge

from exchanges.connectors.integrity import FailureKind

MD_LAG_MS = Gauge("md_lag_ms", "Exchange timestamp to receipt of the newest book written, ms.", ["exchange"])
BOOK_UPDATES = Counter("md_book_updates", "Order book updates received from the exchange.", ["exchange"])
UPDATES_PER_SECOND = Gauge("md_updates_per_second", "Order book updates per second, last refresh.", ["exchange"])
WS_RECONNECTS = Counter("ws_reconnects", "Websocket reconnects, by reason.", ["exchange", "reason"])
GAP_EVENTS = Counter("orderbook_gap_events", "Books found wrong and resynced, by kind.", ["exchange", "kind"])
SNAPSHOT_ERRORS = Counter("orderbook_snapshot_errors", "Failed order book snapshot requests.", ["exchange"])
BOOKS_HEALTHY = Gauge("books_healthy", "Books in sync and updated within stale_after_sec.", ["exchange"])
BOOKS_STALE = Gauge("books_stale", "Books in sync but not updated within stale_after_sec.", ["exchange"])
BOOKS_UNHEALTHY = Gauge("books_unhealthy", "Books known wrong or waiting for a snapshot.", ["exchange"])


RECONNECT_REASONS = ("closed", "silence", "error")
GAP_KINDS = tuple(kind for kind in get_args(FailureKind) if kind != "snapshot")  # snapshot: its own counter


class ExchangeMetrics:
    """One exchange's series, resolved once (labels() costs a dict lookup and a lock)."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self.lag_ms = MD_LAG_MS.labels(exchange)
        self.updates = BOOK_UPDATES.labels(exchange)
        self.updates_per_second = UPDATES_PER_SECOND.labels(exchange)
        self.snapshot_errors = SNAPSHOT_ERRORS.labels(exchange)
        self.healthy = BOOKS_HEALTHY.labels(exchange)
        self.stale = BOOKS_STALE.labels(exchange)
        self.unhealthy = BOOKS_UNHEALTHY.labels(exchange)
        # At 0 from the start, so increase() and alerts see the first one.
        for reason in RECONNECT_REASONS:
            WS_RECONNECTS.labels(exchange, reason)
        for kind in GAP_KINDS:
            GAP_EVENTS.labels(exchange, kind)

    def reconnect(self, reason: str) -> None:
        WS_RECONNECTS.labels(self.exchange, reason).inc()

    def gap(self, kind: str) -> None:
        GAP_EVENTS.labels(self.exchange, kind).inc()

    def book_counts(self, healthy: int, stale: int, unhealthy: int) -> None:
        self.healthy.set(healthy)
        self.stale.set(stale)
        self.unhealthy.set(unhealthy)
