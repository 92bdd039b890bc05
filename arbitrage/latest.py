"""What "now" looks like to a reader: the newest scan message of the feed and the health of
every stored book. Used by the REST API, the WebSocket consumer and the dashboard.

The feed's messages come back from the store (Redis in full mode), so they are outside data:
they are checked here once and anything malformed is treated as "no scan yet", with a log
line, rather than handed on to clients.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from arbitrage.engine.book import OrderBookSnapshot
from exchanges.store.base import BookStore, CorruptBook

logger = logging.getLogger(__name__)

BookState = Literal["fresh", "stale", "unhealthy"]


def now_ms() -> int:
    return int(time.time() * 1000)


def _default_store() -> BookStore:
    from exchanges.store import get_book_store

    return get_book_store()


def parse_scan_message(raw: Any) -> dict[str, Any] | None:
    """The message if it has the shape of DESIGN.md section 8, else None."""
    if not isinstance(raw, dict) or raw.get("type") != "opportunities":
        return None
    ts, items = raw.get("ts"), raw.get("items")
    if isinstance(ts, bool) or not isinstance(ts, int) or not isinstance(items, list):
        return None
    if not all(isinstance(item, dict) for item in items):
        return None
    return {"type": "opportunities", "ts": ts, "items": items}


def latest_scan(store: BookStore | None = None) -> dict[str, Any] | None:
    """The newest scan message, or None before the first scan. Raises StoreUnavailable."""
    store = store if store is not None else _default_store()
    messages = store.read_feed(1)
    if not messages:
        return None
    message = parse_scan_message(messages[-1])
    if message is None:
        logger.warning("ignoring a malformed feed message", extra={"value": repr(messages[-1])[:200]})
    return message


@dataclass(frozen=True, slots=True)
class BookHealth:
    exchange: str
    symbol: str
    state: BookState
    lag_ms: int
    last_update: int  # ts_ingest, ms since epoch
    age_ms: int  # now - ts_ingest
    seq_id: Any = None
    checksum_ok: Any = None


@dataclass(slots=True)
class ExchangeHealth:
    exchange: str
    fresh: int = 0
    stale: int = 0
    unhealthy: int = 0
    last_update: int | None = None
    max_lag_ms: int | None = None

    def add(self, book: BookHealth) -> None:
        if book.state == "fresh":
            self.fresh += 1
        elif book.state == "stale":
            self.stale += 1
        else:
            self.unhealthy += 1
        self.last_update = max(self.last_update or book.last_update, book.last_update)
        self.max_lag_ms = max(self.max_lag_ms if self.max_lag_ms is not None else book.lag_ms, book.lag_ms)


@dataclass(slots=True)
class HealthReport:
    ts: int
    stale_after_sec: float
    exchanges: list[ExchangeHealth]
    books: list[BookHealth]
    corrupt: list[CorruptBook] = field(default_factory=list)


def book_state(book: OrderBookSnapshot, now: int, stale_after_sec: float) -> BookState:
    """The same rule the scan applies to its slice (DESIGN.md section 4): an unhealthy book
    and a book not updated for `stale_after_sec` are left out."""
    if not book.is_healthy:
        return "unhealthy"
    if now - book.ts_ingest > stale_after_sec * 1000:
        return "stale"
    return "fresh"


def book_health(
    books: list[OrderBookSnapshot],
    *,
    now: int,
    stale_after_sec: float,
    known_exchanges: list[str] | None = None,
    corrupt: list[CorruptBook] | None = None,
) -> HealthReport:
    """Health of each book and a summary per exchange. `known_exchanges` (the enabled ones)
    appear in the summary even with no book at all, which is itself worth seeing."""
    per_exchange = {name: ExchangeHealth(name) for name in known_exchanges or []}
    rows: list[BookHealth] = []
    for book in sorted(books, key=lambda b: b.key):
        meta = book.meta if isinstance(book.meta, dict) else {}
        row = BookHealth(
            exchange=book.exchange,
            symbol=book.symbol,
            state=book_state(book, now, stale_after_sec),
            lag_ms=book.lag_ms,
            last_update=book.ts_ingest,
            age_ms=now - book.ts_ingest,
            seq_id=meta.get("seq_id"),
            checksum_ok=meta.get("checksum_ok"),
        )
        rows.append(row)
        per_exchange.setdefault(book.exchange, ExchangeHealth(book.exchange)).add(row)
    summary = [per_exchange[name] for name in sorted(per_exchange)]
    return HealthReport(now, stale_after_sec, summary, rows, list(corrupt or []))


def current_book_health(store: BookStore | None = None, now: int | None = None) -> HealthReport:
    """Health of every stored book against the configured staleness. Raises StoreUnavailable;
    reads the database (settings, enabled exchanges)."""
    from arbitrage.models import ScannerSettings
    from exchanges.models import Exchange

    store = store if store is not None else _default_store()
    stale_after_sec = float(ScannerSettings.load().stale_after_sec)
    enabled = list(Exchange.objects.filter(enabled=True).values_list("id", flat=True))
    book_slice = store.read_all()
    return book_health(
        book_slice.books,
        now=now_ms() if now is None else now,
        stale_after_sec=stale_after_sec,
        known_exchanges=enabled,
        corrupt=book_slice.corrupt,
    )
