"""The periodic digest (Celery beat -> worker). Without a bot token it does nothing and says
so once per process; a bad token or an unreachable Bot API is logged and the run skipped."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import shared_task
from django.conf import settings
from telegram.error import TelegramError

from notifications.models import Subscriber
from notifications.runner import SENDING_MODES, run_digests
from notifications.sender import TelegramSender

log = logging.getLogger(__name__)

_off_logged = False


def send_digests_now(modes: Sequence[str] = SENDING_MODES) -> int:
    """One digest run with the configured bot; the number of messages sent."""
    global _off_logged
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        if not _off_logged:
            log.info("Telegram notifications are off: TELEGRAM_BOT_TOKEN is empty")
            _off_logged = True
        return 0
    try:
        with TelegramSender(token, settings.TELEGRAM_API_URL) as sender:
            return run_digests(sender, modes=modes).messages_sent
    except TelegramError as exc:
        # getMe failed: a wrong token or the Bot API is down. Nothing was sent; next period retries.
        log.error("telegram digest skipped", extra={"error": str(exc)})
        return 0


@shared_task(name="notifications.tasks.send_digests", ignore_result=True)
def send_digests() -> int:
    return send_digests_now()


def send_instant_now() -> int:
    """Instant subscribers only: run every few seconds so a new episode reaches them soon."""
    return send_digests_now((Subscriber.Mode.INSTANT,))


@shared_task(name="notifications.tasks.send_instant", ignore_result=True)
def send_instant() -> int:
    return send_instant_now()
