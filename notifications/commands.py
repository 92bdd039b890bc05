"""What the bot answers: one synchronous function per command, text in and HTML out.

The arguments are user input: parsed here once, and anything unexpected gets a short usage
line instead of an error. Replies are Telegram HTML; every value that came from outside
(symbols, usernames, exchange ids) is escaped."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings

from arbitrage.models import Opportunity
from notifications.digest import Episode, Filters, format_episode, select
from notifications.models import Subscriber

log = logging.getLogger(__name__)

TOP_N = 5
SYMBOL = re.compile(r"^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}$")
EXCHANGE = re.compile(r"^[a-z0-9_.]{1,32}$")
MIN_EDGE, MAX_EDGE = Decimal("-5"), Decimal("1000")

FILTER_USAGE = (
    "Usage: /filter [edge=0.2] [symbols=BTC-USDT,ETH-USDT|all] [exchanges=binance,okx|all] "
    "[type=spatial|triangular|all] [risk=ok|all], or /filter reset"
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
    f = Filters.from_subscriber(sub)
    symbols = ", ".join(sorted(f.symbols)) or "all"
    exchanges = ", ".join(sorted(f.exchanges)) or "all"
    state = "subscribed" if sub.is_active else "unsubscribed"
    return html.escape(
        f"You are {state}, mode {sub.mode}.\n"
        f"min net edge {f.min_net_edge_pct:g}% · symbols {symbols} · exchanges {exchanges} · "
        f"type {f.type} · risk {'ok only' if f.only_ok else 'all'}"
    )


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


def _names(value: str, pattern: re.Pattern[str], normalize: Callable[[str], str]) -> list[str]:
    if value.lower() in ("all", "any", "*", ""):
        return []
    names = [normalize(v.strip()) for v in value.split(",") if v.strip()]
    if not names or not all(pattern.match(n) for n in names):
        raise UsageError(FILTER_USAGE)
    return sorted(set(names))


def apply_filter_args(sub: Subscriber, args: list[str]) -> None:
    if args == ["reset"]:
        sub.min_net_edge_pct, sub.symbols, sub.exchanges = Decimal("0"), [], []
        sub.type_filter, sub.only_ok = Subscriber.TypeFilter.ALL, True
        return
    for arg in args:
        key, sep, value = arg.partition("=")
        key = key.lower()
        if not sep:
            raise UsageError(FILTER_USAGE)
        if key == "edge":
            try:
                edge = Decimal(value.rstrip("%"))
            except InvalidOperation:
                raise UsageError(FILTER_USAGE) from None
            if not edge.is_finite() or not MIN_EDGE <= edge <= MAX_EDGE:
                raise UsageError(f"edge must be between {MIN_EDGE} and {MAX_EDGE} (%)")
            sub.min_net_edge_pct = edge.quantize(Decimal("0.0001"))
        elif key == "symbols":
            sub.symbols = _names(value, SYMBOL, lambda s: s.upper().replace("/", "-"))
        elif key == "exchanges":
            sub.exchanges = _names(value, EXCHANGE, str.lower)
        elif key == "type" and value.lower() in Subscriber.TypeFilter.values:
            sub.type_filter = value.lower()
        elif key == "risk" and value.lower() in ("ok", "all"):
            sub.only_ok = value.lower() == "ok"
        else:
            raise UsageError(FILTER_USAGE)


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
    filters = Filters.from_subscriber(sub) if sub is not None else Filters()
    rows = Opportunity.objects.filter(is_open=True).order_by("-net_edge_pct")
    best = select(filters, (Episode.from_row(r) for r in rows), {})[:TOP_N]
    if not best:
        return "No open opportunity passes your filters right now."
    return "<b>Best now</b>\n" + "\n".join(format_episode(i, ep) for i, ep in enumerate(best, 1))


def cmd_status(msg: Incoming) -> str:
    from arbitrage.latest import current_book_health, latest_scan, now_ms
    from exchanges.store.base import StoreUnavailable

    try:
        scan = latest_scan()
        health = current_book_health()
    except StoreUnavailable as exc:
        return html.escape(f"The book store is unavailable: {exc}")
    now = now_ms()
    lines = [
        "No scan yet."
        if scan is None
        else f"Last scan {(now - scan['ts']) / 1000:.1f} s ago, {len(scan['items'])} opportunities."
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


def respond(chat_id: int, username: str, text: str) -> str:
    """The reply to one message (HTML)."""
    words = text.split()
    command = words[0][1:].split("@")[0].lower() if words and words[0].startswith("/") else ""
    handler = COMMANDS.get(command)
    if handler is None:
        return "Unknown command. /help lists them."
    try:
        return handler(Incoming(chat_id, username, words[1:]))
    except UsageError as exc:
        return html.escape(str(exc))
