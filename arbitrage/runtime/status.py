"""What "now" looks like to a reader: the newest scan of the feed and the health of every
stored book against the configured staleness. The REST API, live delivery and the
Telegram bot all read it here."""

from __future__ import annotations

from django.db.models import Max

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
    """Health of every stored book. Raises StoreUnavailable; reads the database (settings;
    the exchanges, enabled or not, with their newest withdrawal-fee row's time, in one query)."""
    stale_after_sec = float(ScannerSettings.current().stale_after_sec)
    exchanges = Exchange.objects.annotate(networks_updated_at=Max("withdrawal_fees__updated_at"))
    enabled: list[str] = []
    networks_updated_at: dict[str, int] = {}
    for exchange_id, is_enabled, updated_at in exchanges.values_list("id", "enabled", "networks_updated_at"):
        if is_enabled:
            enabled.append(exchange_id)
        if updated_at is not None:
            networks_updated_at[exchange_id] = int(updated_at.timestamp() * 1000)
    book_slice = get_services().store.read_all()
    return book_health(
        book_slice.books,
        now=now_ms() if now is None else now,
        stale_after_sec=stale_after_sec,
        known_exchanges=enabled,
        corrupt=book_slice.corrupt,
        networks_updated_at=networks_updated_at,
    )
