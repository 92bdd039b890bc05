"""Sending one message to one chat within Telegram's rules, from synchronous code.

python-telegram-bot's Bot is async; the digest run is synchronous Django code (ORM calls
must not run inside an event loop). `TelegramSender` owns a private loop and runs each send
to completion on it, so database work happens between sends, never during one.

Rules kept here (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
about 30 messages per second overall and one per second per chat; on 429 wait the
`retry_after` Telegram names; 403 means the user blocked the bot (no retry); anything else
is retried with exponential backoff a few times, then given up for this run."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from types import TracebackType

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from notifications import metrics
from notifications.pacing import MemoryPacer, Pacer

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the subscriber blocked the bot or the chat is gone
    FAILED = "failed"  # gave up for this run


@dataclass(frozen=True)
class SendPolicy:
    max_attempts: int = 4  # for errors other than 429 and 403
    backoff_sec: float = 1.0  # doubled after each failed attempt
    max_retry_after_sec: float = 300.0  # a longer flood wait is given up for this run
    max_flood_waits: int = 5
    per_second: float = 30.0  # overall
    per_chat_interval_sec: float = 1.0
    per_group_interval_sec: float = 3.0  # 20 per minute in a group (negative chat ids)


def flood_wait_sec(exc: RetryAfter) -> float:
    # PTB 22 warns that the int will become a timedelta; read it either way, quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def hide_token_from_logs() -> None:
    """A Bot API URL carries the bot token: httpx logs every request URL at INFO and
    python-telegram-bot its base URL at DEBUG. Quiet both below the level that would."""
    for name, level in (("httpx", logging.WARNING), ("telegram.Bot", logging.INFO), ("telegram.ext", logging.INFO)):
        logger = logging.getLogger(name)
        logger.setLevel(max(level, logger.getEffectiveLevel()))


class TelegramSender:
    """Use as a context manager: `with TelegramSender(token, base_url) as s: s.send(...)`."""

    def __init__(
        self,
        token: str,
        base_url: str = "",
        policy: SendPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        pacer: Pacer | None = None,
    ) -> None:
        """`pacer`: the slots shared with other senders (notifications.pacing); by default
        this sender's own."""
        hide_token_from_logs()
        self.policy = policy or SendPolicy()
        self._sleep = sleep
        self._loop = asyncio.new_event_loop()
        self.bot = Bot(token, base_url=base_url) if base_url else Bot(token)
        self._pacer = pacer or MemoryPacer()

    def __enter__(self) -> TelegramSender:
        # getMe: a wrong token fails here (InvalidToken), before any subscriber is touched.
        self._loop.run_until_complete(self.bot.initialize())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._loop.run_until_complete(self.bot.shutdown())
        finally:
            self._loop.close()

    def send(self, chat_id: int, text: str) -> Outcome:
        outcome = self._loop.run_until_complete(self._send(chat_id, text))
        metrics.MESSAGES.labels(outcome.value).inc()
        return outcome

    def _chat_interval(self, chat_id: int) -> float:
        return self.policy.per_group_interval_sec if chat_id < 0 else self.policy.per_chat_interval_sec

    async def _pace(self, chat_id: int) -> None:
        # Spacing sends (rather than a token bucket) keeps bursts under the overall limit too.
        wait = self._pacer.reserve(chat_id, 1.0 / self.policy.per_second, self._chat_interval(chat_id))
        if wait > 0:
            await asyncio.sleep(wait)

    async def _send(self, chat_id: int, text: str) -> Outcome:
        failures = flood_waits = 0
        while True:
            await self._pace(chat_id)
            try:
                await self.bot.send_message(
                    chat_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
                return Outcome.SENT
            except RetryAfter as exc:
                wait = flood_wait_sec(exc)
                flood_waits += 1
                if wait > self.policy.max_retry_after_sec or flood_waits > self.policy.max_flood_waits:
                    log.warning(
                        "telegram flood wait too long: giving up on this chat for this run",
                        extra={"chat_id": chat_id, "wait_sec": wait},
                    )
                    return Outcome.FAILED
                log.info("telegram asks to wait", extra={"chat_id": chat_id, "wait_sec": round(wait, 1)})
                await self._sleep(wait)
            except Forbidden as exc:
                log.info("chat refuses messages", extra={"chat_id": chat_id, "error": exc.message})
                return Outcome.BLOCKED
            except TelegramError as exc:
                failures += 1
                if failures >= self.policy.max_attempts:
                    log.warning(
                        "sending failed: giving up on this chat for this run",
                        extra={"chat_id": chat_id, "attempts": failures, "error": str(exc)},
                    )
                    return Outcome.FAILED
                delay = self.policy.backoff_sec * 2 ** (failures - 1)
                log.info(
                    "sending failed; will retry", extra={"chat_id": chat_id, "error": str(exc), "retry_in_sec": delay}
                )
                await self._sleep(delay)
