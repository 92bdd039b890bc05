"""`python manage.py telegram_bot`: the subscribers' commands by long polling until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from telegram.error import TelegramError

from cli.commands import OneLineErrorCommand
from cli.exporter import serve_metrics
from notifications.bot import serve


class Command(OneLineErrorCommand):
    help = "Run the Telegram bot (long polling): /start /stop /filter /mode /top /status /help."

    def handle(self, *args: Any, **options: Any) -> None:
        token = settings.TELEGRAM_BOT_TOKEN
        if not token:
            self.stderr.write("Telegram bot is off: TELEGRAM_BOT_TOKEN is empty.")
            return
        if settings.METRICS_PORT:
            try:
                serve_metrics(int(settings.METRICS_PORT), "bot")
            except OSError as exc:
                raise CommandError(f"METRICS_PORT {settings.METRICS_PORT}: {exc.strerror or exc}") from None
        try:
            asyncio.run(self._run(token, settings.TELEGRAM_API_URL))
        except TelegramError as exc:
            raise CommandError(f"Telegram bot stopped: {exc}") from exc

    async def _run(self, token: str, base_url: str) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(token, base_url, stop)
