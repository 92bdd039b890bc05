"""`python manage.py demo`: the embedded product in one process, for a first look.

Migrates the database, makes sure a demo admin exists, and serves http://HOST:PORT with the
simulated market and the 5 s scan timer. Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser

from cli.commands import OneLineErrorCommand

if TYPE_CHECKING:
    from exchanges.connectors.simulated import TransferWorld

DEMO_USER = "admin"
# A local demo, bound to 127.0.0.1 by default; full mode uses createsuperuser.
DEMO_PASSWORD = "admin"


class Command(OneLineErrorCommand):
    help = "Run the embedded demo: web app, simulated market and scan timer in one process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--tick", type=float, default=1.0, help="simulated market tick in seconds")
        parser.add_argument("--no-market", action="store_true", help="do not start the simulated market")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.REDIS_URL:
            self.stderr.write("note: REDIS_URL is set, so books and the feed go to Redis, not memory")
        call_command("migrate", interactive=False, verbosity=0)
        self._ensure_admin()

        from exchanges.models import Exchange, WatchedSymbol

        exchanges = list(Exchange.objects.filter(enabled=True).values_list("id", flat=True))
        symbols = list(WatchedSymbol.objects.filter(enabled=True).values_list("symbol", flat=True))
        if not exchanges or not symbols:
            raise CommandError("Enable at least one exchange and one watched symbol in admin first.")

        from demo.networks import store_networks
        from exchanges.connectors.simulated import transfer_world
        from kernel.ids import split_symbol

        world = transfer_world({asset for symbol in symbols for asset in split_symbol(symbol)}, exchanges)
        store_networks(world)
        url = f"http://{options['host']}:{options['port']}"
        self.stdout.write(
            self.style.SUCCESS(f"Arbitrage scanner demo at {url}/\n")
            + f"  admin: {url}/admin/  user: {DEMO_USER}  password: {DEMO_PASSWORD}\n"
            + f"  market: simulated, {len(exchanges)} exchanges x {len(symbols)} symbols; scan every few seconds\n"
            + _world_line(world)
            + (
                "  telegram: digests every "
                f"{settings.TELEGRAM_DIGEST_PERIOD_SEC:g} s; the bot answers /start, /filter, /top ...\n"
                if settings.TELEGRAM_BOT_TOKEN
                else "  telegram: off (set TELEGRAM_BOT_TOKEN to send digests)\n"
            )
            + "  Ctrl-C to stop."
        )
        from kernel.gc_tuning import tune_gc

        tune_gc()
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._serve(options, exchanges, symbols, world))
        self.stdout.write("demo stopped")

    def _ensure_admin(self) -> None:
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"}
        )
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.is_staff = user.is_superuser = True
            user.save()

    async def _serve(
        self, options: dict[str, Any], exchanges: list[str], symbols: list[str], world: TransferWorld
    ) -> None:
        import uvicorn
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from config.asgi import application
        from demo.embedded import digest_timer, scan_timer, start_simulated_market, telegram_bot

        market = None if options["no_market"] else start_simulated_market(symbols, exchanges, options["tick"], world)
        stop = asyncio.Event()
        timers = [asyncio.create_task(scan_timer(stop))]
        if settings.TELEGRAM_BOT_TOKEN:
            timers.append(asyncio.create_task(digest_timer(stop)))
            timers.append(asyncio.create_task(telegram_bot(stop)))
        config = uvicorn.Config(
            ASGIStaticFilesHandler(application),
            host=options["host"],
            port=options["port"],
            log_level="warning",
            lifespan="off",
            # Compressing each scan per client doubles the p99 at 1,000 clients (docs/benchmarks.md).
            ws_per_message_deflate=False,
        )
        server = uvicorn.Server(config)
        try:
            await server.serve()
        finally:
            stop.set()
            await asyncio.gather(*timers)
            if market is not None:
                market.close()
        if not server.started:
            raise CommandError(f"Could not listen on {options['host']}:{options['port']} (is the port in use?)")


def _world_line(world: TransferWorld) -> str:
    parts = []
    if world.closed is not None:
        parts.append(f"{world.closed[1]} wallets closed on {world.closed[0]}")
    if world.collision is not None:
        parts.append(f"another coin named {world.collision[1]} on {world.collision[0]}")
    return f"  networks: {len(world.listings)} simulated ({'; '.join(parts) or 'all open'})\n"
