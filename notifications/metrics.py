"""Prometheus metrics of Telegram delivery: counted in the worker (digests and instant
messages) and in the bot process (commands and their replies); cli.exporter serves them."""

from __future__ import annotations

from prometheus_client import Counter

MESSAGES = Counter(
    "telegram_messages_total",
    "Messages to subscribers (digests, instant alerts, notices), by outcome: sent, blocked, failed.",
    ["outcome"],
)
BOT_COMMANDS = Counter("telegram_bot_commands_total", "Commands the bot answered, by command.", ["command"])
BOT_REPLY_FAILURES = Counter("telegram_bot_reply_failures_total", "Bot replies given up after retries.")

for _outcome in ("sent", "blocked", "failed"):  # at 0 from the start, for increase() and alerts
    MESSAGES.labels(_outcome)
