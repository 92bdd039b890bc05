"""The health of stored books as users see it (REST, dashboard, Telegram /status): each
book fresh, stale, unhealthy or from the future by the same rule the scan applies
(kernel.book.book_state), with its lag and age, and a summary per exchange (which also
says how old the exchange's withdrawal network data is)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from exchanges.store.base import CorruptBook
from kernel.book import BookState, OrderBookSnapshot, book_state


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
    future: int = 0
    last_update: int | None = None
    max_lag_ms: int | None = None
    # The newest withdrawal-fee row's updated_at (sync_fees or an admin), ms; None: no row.
    networks_updated_at: int | None = None

    def add(self, book: BookHealth) -> None:
        setattr(self, book.state, getattr(self, book.state) + 1)
        self.last_update = max(self.last_update or book.last_update, book.last_update)
        self.max_lag_ms = max(self.max_lag_ms if self.max_lag_ms is not None else book.lag_ms, book.lag_ms)


@dataclass(slots=True)
class HealthReport:
    ts: int
    stale_after_sec: float
    exchanges: list[ExchangeHealth]
    books: list[BookHealth]
    corrupt: list[CorruptBook] = field(default_factory=list)


def book_health(
    books: Iterable[OrderBookSnapshot],
    *,
    now: int,
    stale_after_sec: float,
    known_exchanges: Iterable[str] = (),
    corrupt: Iterable[CorruptBook] = (),
    networks_updated_at: Mapping[str, int] | None = None,
) -> HealthReport:
    """Health of each book and a summary per exchange. `known_exchanges` (the enabled ones)
    appear in the summary even with no book at all, which is itself worth seeing.
    `networks_updated_at`: per exchange, when its withdrawal network data last changed (ms)."""
    per_exchange = {name: ExchangeHealth(name) for name in known_exchanges}
    rows: list[BookHealth] = []
    for book in sorted(books, key=lambda b: b.key):
        row = BookHealth(
            exchange=book.exchange,
            symbol=book.symbol,
            state=book_state(book, now, stale_after_sec),
            lag_ms=book.lag_ms,
            last_update=book.ts_ingest,
            age_ms=now - book.ts_ingest,
            seq_id=book.meta.get("seq_id"),
            checksum_ok=book.meta.get("checksum_ok"),
        )
        rows.append(row)
        per_exchange.setdefault(book.exchange, ExchangeHealth(book.exchange)).add(row)
    summary = [per_exchange[name] for name in sorted(per_exchange)]
    for item in summary:
        item.networks_updated_at = (networks_updated_at or {}).get(item.exchange)
    return HealthReport(now, stale_after_sec, summary, rows, list(corrupt))
