"""Embedded mode: the whole product in one process (docs/design.md, "Services and data flow").

The ASGI app (admin, API, WebSocket) is served by uvicorn on the event loop; the simulated
market writes books from a background thread; a timer on the loop calls the very same
`run_scan()` as the Celery task, every `scan_interval_sec`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from asgiref.sync import sync_to_async

from arbitrage.runtime.config import scan_interval_sec, scan_lease_sec
from arbitrage.runtime.lock import scan_guard
from arbitrage.runtime.scan import run_scan
from arbitrage.runtime.services import get_services

if TYPE_CHECKING:
    from exchanges.connectors.simulated import FeaturedPlant, TransferWorld

logger = logging.getLogger(__name__)


def _guarded_scan() -> None:
    services = get_services()
    with scan_guard(services.lock, scan_lease_sec()) as acquired:
        if acquired:
            run_scan(services=services)
        else:
            logger.warning("scan skipped: the previous scan is still running")


async def run_every(
    stop: asyncio.Event, work: Callable[[], object], interval_sec: Callable[[], float], first_delay_sec: float = 1.0
) -> None:
    """Call `work` in a worker thread at a fixed rate until `stop` is set. A slow run delays
    the next one; it never queues several behind itself. An exception is logged, not fatal."""
    loop = asyncio.get_running_loop()
    delay = first_delay_sec
    while True:
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
            return
        except TimeoutError:
            pass
        started = loop.time()
        try:
            # thread_sensitive=False: admin requests keep their thread while this runs.
            await sync_to_async(work, thread_sensitive=False)()
        except Exception:
            logger.exception("periodic work failed", extra={"work": getattr(work, "__name__", repr(work))})
        interval = await sync_to_async(interval_sec, thread_sensitive=False)()
        delay = max(0.0, interval - (loop.time() - started))


async def scan_timer(stop: asyncio.Event, first_delay_sec: float = 1.0) -> None:
    """The embedded scan schedule: the same run_scan() as the Celery task, every scan_interval_sec."""
    await run_every(stop, _guarded_scan, scan_interval_sec, first_delay_sec)


async def digest_timer(stop: asyncio.Event) -> None:
    """Telegram digests every TELEGRAM_DIGEST_PERIOD_SEC and instant messages every
    TELEGRAM_INSTANT_PERIOD_SEC, as beat schedules them in full mode."""
    from django.conf import settings

    from notifications.tasks import send_digests_now, send_instant_now

    period = float(settings.TELEGRAM_DIGEST_PERIOD_SEC)
    instant = float(settings.TELEGRAM_INSTANT_PERIOD_SEC)
    await asyncio.gather(
        run_every(stop, send_digests_now, lambda: period, first_delay_sec=period),
        run_every(stop, send_instant_now, lambda: instant, first_delay_sec=instant),
    )


async def telegram_bot(stop: asyncio.Event) -> None:
    """The bot's long polling on this loop, as `manage.py telegram_bot` runs it alone. A bad
    token or an unreachable Bot API is logged; the rest of the demo keeps running."""
    from django.conf import settings
    from telegram.error import TelegramError

    from notifications.bot import serve

    try:
        await serve(settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_URL, stop)
    except TelegramError as exc:
        logger.error("telegram bot stopped", extra={"error": str(exc)})


@dataclass(slots=True)
class MarketThread:
    thread: threading.Thread
    stop: threading.Event

    def close(self, timeout: float = 5.0) -> None:
        self.stop.set()
        self.thread.join(timeout)


def showcase(world: TransferWorld, symbols: list[str], exchanges: list[str]) -> tuple[FeaturedPlant, ...]:
    """The plants the demo keeps coming back to, so a first look shows what the flags mean:
    a clean edge with its network, and one into the wallet that is closed (no_transfer_route).
    The ticker collision needs no plant: the other coin has its own price (asset_mismatch)."""
    from exchanges.connectors.simulated import FeaturedPlant

    special = {pair for pair in (world.closed, world.collision) if pair is not None}
    plain_venues = [e for e in exchanges if all(e != venue for venue, _ in special)]
    special_assets = {asset for _, asset in special}
    featured: list[FeaturedPlant] = []
    clean = next(
        (s for s in ("ETH-USDT", "BTC-USDT", *symbols) if s in symbols and not set(s.split("-")) & special_assets),
        None,
    )
    if clean is not None and len(plain_venues) >= 2:
        featured.append(FeaturedPlant(symbol=clean, exchange=plain_venues[0], side="buy", partner=plain_venues[1]))
    if world.closed is not None and f"{world.closed[1]}-USDT" in symbols:
        venue, asset = world.closed
        # Rich where deposits are closed: the money is there, but the coin cannot get in.
        featured.append(FeaturedPlant(symbol=f"{asset}-USDT", exchange=venue, side="sell"))
    return tuple(featured)


def start_simulated_market(
    symbols: list[str], exchanges: list[str], interval_sec: float = 1.0, world: TransferWorld | None = None
) -> MarketThread:
    from exchanges.connectors.simulated import SimulationConfig, run_simulated_market
    from exchanges.store import get_book_store

    stop = threading.Event()
    thread = threading.Thread(
        target=run_simulated_market,
        kwargs={
            "store": get_book_store(),
            "symbols": symbols,
            "exchanges": exchanges,
            "interval": interval_sec,
            "stop_event": stop,
            # Livelier than the default market, and an edge from the first scan on.
            "config": SimulationConfig(
                plant_on_start=True,
                spatial_plants_per_minute=3,
                triangular_plants_per_minute=1,
                max_active_plants=4,
                featured_plants=showcase(world, symbols, exchanges) if world is not None else (),
            ),
            "transfers": world,
        },
        name="simulated-market",
        daemon=True,
    )
    thread.start()
    return MarketThread(thread, stop)
