"""What "now" looks like to a reader: the newest scan of the feed and the health of every
stored book against the configured staleness. The REST API, live delivery and the
Telegram bot all read it here."""

from __future__ import annotations

from arbitrage.models import ScannerSettings
from arbitrage.runtime import feed
from arbitrage.runtime.feed import ScanMessage, ScanStatus
from arbitrage.runtime.services import get_services
from exchanges.health import HealthReport, book_health
from exchanges.models import Exchange
from kernel.clock import now_ms


def latest_scan() -> ScanMessage | None:
    """The newest scan's message, or None before the first scan. Raises StoreUnavailable."""
    return feed.latest(get_services().feed)


def latest_status() -> ScanStatus | None:
    """How the newest scan went (degraded or not), or None before the first scan. Raises
    StoreUnavailable."""
    return get_services().feed.status()


def current_book_health(now: int | None = None) -> HealthReport:
    """Health of every stored book. Raises StoreUnavailable; reads the database (settings,
    enabled exchanges)."""
    stale_after_sec = float(ScannerSettings.current().stale_after_sec)
    enabled = list(Exchange.objects.filter(enabled=True).values_list("id", flat=True))
    book_slice = get_services().store.read_all()
    return book_health(
        book_slice.books,
        now=now_ms() if now is None else now,
        stale_after_sec=stale_after_sec,
        known_exchanges=enabled,
        corrupt=book_slice.corrupt,
    )
