"""The periodic runs (Celery beat -> worker, or the demo's timers): digests every
TELEGRAM_DIGEST_PERIOD_SEC for digest subscribers, and every TELEGRAM_INSTANT_PERIOD_SEC
for instant ones. Each kind of subscriber is served by its own run only. Without a bot
token they do nothing and say so once per process; a bad token or an unreachable Bot API
is logged and the run skipped."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import shared_task
from django.conf import settings
from telegram.error import TelegramError

from notifications.models import Subscriber
from notifications.pacing import MemoryPacer, Pacer, RedisPacer
from notifications.runner import run_digests
from notifications.sender import TelegramSender

log = logging.getLogger(__name__)

_off_logged = False


_pacers: dict[str, Pacer] = {}


def shared_pacer() -> Pacer:
    """The slots every sender of this deployment books: in Redis in full mode (all workers
    together), in this process's memory in embedded mode."""
    url = settings.REDIS_URL
    if url not in _pacers:
        _pacers[url] = RedisPacer(url) if url else MemoryPacer()
    return _pacers[url]


def run_now(modes: Sequence[str]) -> int:
    """One run with the configured bot for the subscribers in `modes`; messages sent."""
    global _off_logged
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        if not _off_logged:
            log.info("Telegram notifications are off: TELEGRAM_BOT_TOKEN is empty")
            _off_logged = True
        return 0
    try:
        with TelegramSender(token, settings.TELEGRAM_API_URL, pacer=shared_pacer()) as sender:
            return run_digests(sender, modes=modes).messages_sent
    except TelegramError as exc:
        # getMe failed: a wrong token or the Bot API is down. Nothing was sent; next period retries.
        log.error("telegram digest skipped", extra={"modes": ",".join(modes), "error": str(exc)})
        return 0


def send_digests_now() -> int:
    """Digest subscribers: what is new since their last digest."""
    return run_now((Subscriber.Mode.DIGEST,))


def send_instant_now() -> int:
    """Instant subscribers: run every few seconds so a new episode reaches them soon."""
    return run_now((Subscriber.Mode.INSTANT,))


@shared_task(name="notifications.tasks.send_digests", ignore_result=True)
def send_digests() -> int:
    return send_digests_now()


@shared_task(name="notifications.tasks.send_instant", ignore_result=True)
def send_instant() -> int:
    return send_instant_now()
