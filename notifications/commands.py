"""What the bot answers: one synchronous function per command, text in and HTML out.

The arguments are user input: parsed here once, and anything unexpected gets a short usage
line instead of an error. Replies are Telegram HTML; every value that came from outside
(symbols, usernames, exchange ids) is escaped."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from arbitrage.filters import FILTER_NAMES, FilterError, OpportunityFilter
from arbitrage.models import Episode
from notifications.digest import EpisodeView, format_episode, grouped, select
from notifications.models import Subscriber, default_filters

log = logging.getLogger(__name__)

TOP_N = 5
# The words of the filter language (arbitrage.filters), plus the ones this bot took before.
ALIASES = {"symbols": "symbol", "exchanges": "exchange", "edge": "min_net_edge"}
CLEAR = ("all", "any", "*")

FILTER_USAGE = (
    "Usage: /filter [symbol=BTC,ETH-USDT] [exchange=binance,okx] [type=spatial|triangular] "
    "[min_net_edge=0.2] [risk=ok|flagged|actionable|CODE]; word=all clears one; /filter reset for the defaults"
)
MODE_USAGE = "Usage: /mode digest|instant|silent|off"
HELP = (
    "<b>Arbitrage scanner bot</b>\n"
    "/start: subscribe\n"
    "/stop: unsubscribe\n"
    "/filter: show or set your filters (" + html.escape(FILTER_USAGE.removeprefix("Usage: ")) + ")\n"
    "/mode digest|instant|silent|off: how you are told\n"
    "/top: the best opportunities now\n"
    "/status: the feed's health\n"
    "/help: this text"
)


class UsageError(ValueError):
    """Bad arguments: the message is the usage line to reply with."""


@dataclass(frozen=True)
class Incoming:
    chat_id: int
    username: str
    args: list[str]


def subscriber(chat_id: int) -> Subscriber | None:
    return Subscriber.objects.filter(chat_id=chat_id).first()


def describe(sub: Subscriber) -> str:
    words = sub.opportunity_filter().as_dict()
    shown = " · ".join(f"{name}={words.get(name, 'all')}" for name in FILTER_NAMES)
    state = "subscribed" if sub.is_active else "unsubscribed"
    return html.escape(f"You are {state}, mode {sub.mode}.\nFilters: {shown}")


def cmd_start(msg: Incoming) -> str:
    sub, created = Subscriber.objects.get_or_create(chat_id=msg.chat_id, defaults={"username": msg.username})
    sub.is_active, sub.username, sub.deactivated_reason = True, msg.username, ""
    if sub.mode == Subscriber.Mode.OFF:
        sub.mode = Subscriber.Mode.DIGEST
    sub.save()
    period = float(settings.TELEGRAM_DIGEST_PERIOD_SEC)
    lead = "Subscribed." if created else "Welcome back."
    return (
        f"{lead} A digest comes every {period:g} s when there is something new.\n{describe(sub)}\n/help for commands."
    )


def cmd_stop(msg: Incoming) -> str:
    updated = Subscriber.objects.filter(chat_id=msg.chat_id, is_active=True).update(is_active=False)
    return "Unsubscribed. /start to come back." if updated else "You are not subscribed. /start to subscribe."


def apply_filter_args(sub: Subscriber, args: list[str]) -> None:
    """`word=value` arguments over the subscriber's filters, checked as a whole."""
    if args == ["reset"]:
        sub.filters = default_filters()
        return
    words = sub.opportunity_filter().as_dict()
    for arg in args:
        key, sep, value = arg.partition("=")
        key = ALIASES.get(key.lower(), key.lower())
        if not sep or key not in FILTER_NAMES:
            raise UsageError(FILTER_USAGE)
        if value.strip().lower() in CLEAR:
            words.pop(key, None)
        else:
            words[key] = value
    try:
        sub.filters = OpportunityFilter.parse(words).as_dict()
    except FilterError as exc:
        raise UsageError(f"{exc}\n{FILTER_USAGE}") from None


def cmd_filter(msg: Incoming) -> str:
    sub = subscriber(msg.chat_id)
    if sub is None:
        return "You are not subscribed. /start first."
    if msg.args:
        apply_filter_args(sub, msg.args)
        sub.save()
        return "Filters saved.\n" + describe(sub)
    return describe(sub)


def cmd_mode(msg: Incoming) -> str:
    if len(msg.args) != 1 or msg.args[0].lower() not in Subscriber.Mode.values:
        raise UsageError(MODE_USAGE)
    sub = subscriber(msg.chat_id)
    if sub is None:
        return "You are not subscribed. /start first."
    sub.mode = msg.args[0].lower()
    sub.save(update_fields=["mode", "updated_at"])
    return f"Mode set to {sub.mode}."


def cmd_top(msg: Incoming) -> str:
    sub = subscriber(msg.chat_id)
    filters = sub.opportunity_filter() if sub is not None else OpportunityFilter.parse(default_filters())
    rows = Episode.objects.filter(is_open=True).order_by("-net_edge_pct")
    best = grouped(select(filters, (EpisodeView.from_row(r) for r in rows), {}))[:TOP_N]
    if not best:
        return "No open opportunity passes your filters right now."
    return "<b>Best now</b>\n" + "\n".join(format_episode(i, g[0], g[1:]) for i, g in enumerate(best, 1))


def cmd_status(msg: Incoming) -> str:
    from arbitrage.runtime.status import current_book_health, latest_scan
    from exchanges.store.base import StoreUnavailable
    from kernel.clock import now_ms

    try:
        scan = latest_scan()
        health = current_book_health()
    except StoreUnavailable as exc:
        return html.escape(f"The book store is unavailable: {exc}")
    now = now_ms()
    lines = [
        "No scan yet."
        if scan is None
        else f"Last scan {(now - scan.ts) / 1000:.1f} s ago, {len(scan.items)} opportunities."
    ]
    for ex in health.exchanges:
        lines.append(f"{ex.exchange}: {ex.fresh} fresh, {ex.stale} stale, {ex.unhealthy} unhealthy")
    return html.escape("\n".join(lines))


def cmd_help(msg: Incoming) -> str:
    return HELP


COMMANDS: dict[str, Callable[[Incoming], str]] = {
    "start": cmd_start,
    "stop": cmd_stop,
    "filter": cmd_filter,
    "mode": cmd_mode,
    "top": cmd_top,
    "status": cmd_status,
    "help": cmd_help,
}


def command_of(text: str) -> str:
    """The command a message names (`/filter@bot ...` is `filter`), or ''."""
    words = text.split()
    return words[0][1:].split("@")[0].lower() if words and words[0].startswith("/") else ""


def respond(chat_id: int, username: str, text: str) -> str:
    """The reply to one message (HTML)."""
    words = text.split()
    command = command_of(text)
    handler = COMMANDS.get(command)
    if handler is None:
        return "Unknown command. /help lists them."
    try:
        return handler(Incoming(chat_id, username, words[1:]))
    except UsageError as exc:
        return html.escape(str(exc))
