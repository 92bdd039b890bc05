"""The digest: which episodes a subscriber should hear about, and the message that says so.

Pure functions over plain values (no database, no network), so the same code builds one
digest in a test and ten thousand in a run. The database side (notifications/runner.py)
turns rows into `EpisodeView` and each subscriber's filters into the shared filter
language (arbitrage.filters) once, at the boundary."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from arbitrage.filters import OpportunityFilter

if TYPE_CHECKING:
    from arbitrage.models import Episode

# An episode already sent is sent again only when its edge grew by both of these: a
# wobble of a few basis points around the same level is not news.
IMPROVE_ABS_PCT = 0.05
IMPROVE_REL = 0.25
MAX_ITEMS = 10
# Telegram rejects longer texts (after entity parsing; the raw HTML bound is stricter).
MAX_MESSAGE_CHARS = 4096


@dataclass(frozen=True, slots=True)
class EpisodeView:
    """The fields of an opportunity episode a digest reads (arbitrage.models.Episode)."""

    id: int
    type: str
    symbol: str
    buy_exchange: str
    sell_exchange: str
    exchange: str
    path: tuple[str, ...]
    net_edge_pct: float
    expected_profit_usdt: float
    available_qty: float
    optimal_profit_usdt: float
    risk_flag: str
    is_open: bool
    last_seen: datetime
    optimal_qty: float = 0.0
    risk_flags: tuple[str, ...] = ()
    transfer_network: str | None = None
    variants: int = 1

    @classmethod
    def from_row(cls, row: Episode) -> EpisodeView:
        path = row.path if isinstance(row.path, list) else []
        details = row.details if isinstance(row.details, dict) else {}
        flags = details.get("risk_flags")
        variants = details.get("variants")
        network = details.get("transfer_network")
        return cls(
            id=row.pk,
            type=row.type,
            symbol=row.symbol,
            buy_exchange=row.buy_exchange,
            sell_exchange=row.sell_exchange,
            exchange=row.exchange,
            path=tuple(str(asset) for asset in path),
            net_edge_pct=row.net_edge_pct,
            expected_profit_usdt=row.expected_profit_usdt,
            available_qty=row.available_qty,
            optimal_profit_usdt=row.optimal_profit_usdt,
            risk_flag=row.risk_flag,
            is_open=row.is_open,
            last_seen=row.last_seen,
            optimal_qty=row.optimal_qty,
            risk_flags=tuple(str(f) for f in flags) if isinstance(flags, list) else (),
            transfer_network=network if isinstance(network, str) else None,
            variants=variants if isinstance(variants, int) and variants > 0 else 1,
        )

    @property
    def unit(self) -> str:
        """The asset its sizes are in: the base of a symbol, the first asset of a cycle."""
        if self.type == "triangular":
            return self.path[0] if self.path else ""
        return self.symbol.split("-", 1)[0]

    @property
    def exchanges(self) -> tuple[str, ...]:
        if self.type == "triangular":
            return (self.exchange,)
        return (self.buy_exchange, self.sell_exchange)


def admitted(filters: OpportunityFilter, ep: EpisodeView) -> bool:
    return filters.admits(
        type=ep.type,
        symbol=ep.symbol,
        path=list(ep.path),
        exchanges=ep.exchanges,
        net_edge_pct=ep.net_edge_pct,
        risk_flag=ep.risk_flag,
    )


def clearly_better(edge_pct: float, sent_edge_pct: float) -> bool:
    return edge_pct >= sent_edge_pct + max(IMPROVE_ABS_PCT, abs(sent_edge_pct) * IMPROVE_REL)


def _rank(ep: EpisodeView) -> tuple[float, float, int]:
    return (-ep.net_edge_pct, -ep.expected_profit_usdt, ep.id)


@dataclass(frozen=True, slots=True)
class BestFirst:
    """Episodes sorted once for many subscribers: `select` then stops at the first one below
    a subscriber's minimum edge and needs no sort of its own."""

    episodes: tuple[EpisodeView, ...]

    @classmethod
    def of(cls, episodes: Iterable[EpisodeView]) -> BestFirst:
        return cls(tuple(sorted(episodes, key=_rank)))


def select(
    filters: OpportunityFilter,
    episodes: Iterable[EpisodeView] | BestFirst,
    sent: Mapping[int, float],
    since: datetime | None = None,
) -> list[EpisodeView]:
    """The episodes worth telling, best first: open ones, or closed since `since`, that pass
    the filters and were never sent (by id in `sent`, the best edge sent) or got clearly better."""
    ordered = isinstance(episodes, BestFirst)
    floor = filters.min_net_edge
    chosen = []
    for ep in episodes.episodes if isinstance(episodes, BestFirst) else episodes:
        if ordered and floor is not None and ep.net_edge_pct < floor:
            break
        if not ep.is_open and (since is None or ep.last_seen <= since):
            continue
        if not admitted(filters, ep):
            continue
        previous = sent.get(ep.id)
        if previous is not None and not clearly_better(ep.net_edge_pct, previous):
            continue
        chosen.append(ep)
    if not ordered:
        chosen.sort(key=_rank)
    return chosen


@dataclass(frozen=True, slots=True)
class Digest:
    text: str
    episodes: tuple[EpisodeView, ...]  # the ones the text shows (deliveries to record)


def _num(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def _qty(value: float) -> str:
    return f"{value:.6g}"


def route(ep: EpisodeView) -> str:
    if ep.type == "triangular":
        return f"{ep.exchange}: {' → '.join(ep.path) or ep.symbol}"
    return f"{ep.buy_exchange} → {ep.sell_exchange}"


def flags_in_words(ep: EpisodeView) -> str:
    flags = ep.risk_flags or ((ep.risk_flag,) if ep.risk_flag != "ok" else ())
    return "⚠ " + ", ".join(flag.replace("_", " ") for flag in flags) if flags else "no risk flag"


def grouped(episodes: Iterable[EpisodeView]) -> list[list[EpisodeView]]:
    """One group per line, in the order the best of each comes: spatial episodes per symbol
    (one mispriced venue opens a route to every other), a triangular one alone (the scan
    already made it one per cause). Open and ended ones never share a line."""
    groups: dict[tuple[str, str | int, bool], list[EpisodeView]] = {}
    for ep in episodes:
        key = ("spatial", ep.symbol, ep.is_open) if ep.type == "spatial" else ("triangular", ep.id, ep.is_open)
        groups.setdefault(key, []).append(ep)
    return list(groups.values())


def format_episode(index: int, ep: EpisodeView, others: Sequence[EpisodeView] = ()) -> str:
    """The line for `ep`, the best of its group; `others` are the group's other routes."""
    e = html.escape
    if ep.type == "triangular":
        # The cycle is its name: shown once, with how many cycles its mispricing opens.
        also = f" (best of {ep.variants} cycles from one mispricing)" if ep.variants > 1 else ""
        head = f"{index}. <b>{e(ep.exchange)}</b> cycle {e(' → '.join(ep.path) or ep.symbol)}{e(also)}"
    else:
        via = f" via {ep.transfer_network}" if ep.transfer_network else ""
        head = f"{index}. <b>{e(ep.symbol)}</b> {e(ep.buy_exchange)} → {e(ep.sell_exchange)}{e(via)}"
    unit = e(ep.unit)
    best = (
        f" · best {_num(ep.optimal_profit_usdt, 2)} USDT at {_qty(ep.optimal_qty)} {unit}"
        if ep.optimal_qty > 0
        else f" · best {_num(ep.optimal_profit_usdt, 2)} USDT"
    )
    line = (
        f"{head}\n"
        f"   net <b>{_num(ep.net_edge_pct, 3)}%</b> · {_qty(ep.available_qty)} {unit}"
        f" for {_num(ep.expected_profit_usdt, 2)} USDT profit{best} · {e(flags_in_words(ep))}"
    )
    return line + (f"\n   {e(other_routes(others))}" if others else "")


def other_routes(others: Sequence[EpisodeView], shown: int = 2) -> str:
    named = ", ".join(f"{route(ep)} {_num(ep.net_edge_pct, 3)}%" for ep in others[:shown])
    rest = len(others) - shown
    return f"also {len(others)} other route{'s' if len(others) > 1 else ''}: {named}" + (
        f" and {rest} more" if rest > 0 else ""
    )


def format_ended(ep: EpisodeView, others: Sequence[EpisodeView] = ()) -> str:
    what = f"{ep.exchange} cycle {' → '.join(ep.path)}" if ep.type == "triangular" else f"{ep.symbol} {route(ep)}"
    more = f" (and {len(others)} other route{'s' if len(others) > 1 else ''})" if others else ""
    return f"   · {html.escape(what)}, last {_num(ep.net_edge_pct, 3)}%{more}"


def format_digest(
    episodes: Sequence[EpisodeView], total: int, dashboard_url: str, title: str = "Arbitrage digest"
) -> str:
    """An HTML message (Telegram parse_mode HTML): every outside value escaped. One line per
    group (`grouped`), `total` groups in all; open ones first, numbered; those that ended
    since the last message in a short tail."""
    groups = grouped(episodes)
    open_ones = [g for g in groups if g[0].is_open]
    ended = [g for g in groups if not g[0].is_open]
    head = f"<b>{html.escape(title)}</b> · {total} new or better"
    link = f'<a href="{html.escape(dashboard_url, quote=True)}">Open the dashboard</a>' if dashboard_url else ""
    lines = [format_episode(i, g[0], g[1:]) for i, g in enumerate(open_ones, 1)]
    if ended:
        lines += ["Ended since:", *(format_ended(g[0], g[1:]) for g in ended)]
    more = total - len(groups)
    tail = [f"… and {more} more" if more > 0 else "", link]
    return "\n".join([head, *lines, *(t for t in tail if t)])


def degraded_notice(reason: str, since_ms: int) -> str:
    """The message that says the market data went bad (Telegram HTML)."""
    since = datetime.fromtimestamp(since_ms / 1000, tz=UTC)
    return (
        f"⚠️ <b>Market data degraded</b> since {since:%H:%M} UTC: {html.escape(reason)}.\n"
        "Opportunities may be missing until it recovers; you will be told when it does."
    )


def recovered_notice() -> str:
    return "✅ <b>Market data back to normal.</b> Digests show the whole market again."


def build_digest(
    filters: OpportunityFilter,
    episodes: Iterable[EpisodeView] | BestFirst,
    sent: Mapping[int, float],
    dashboard_url: str,
    since: datetime | None = None,
    limit: int = MAX_ITEMS,
    title: str = "Arbitrage digest",
) -> Digest | None:
    """The digest for one subscriber, or None when there is nothing new to say: at most
    `limit` lines, one per group of episodes (`grouped`)."""
    chosen = select(filters, episodes, sent, since)
    if not chosen:
        return None
    # Open ones first: a closed opportunity is news, but not what a trader acts on.
    groups = sorted(grouped(chosen), key=lambda g: not g[0].is_open)
    shown = groups[:limit]
    text = format_digest([ep for g in shown for ep in g], len(groups), dashboard_url, title)
    while len(text) > MAX_MESSAGE_CHARS and len(shown) > 1:
        shown = shown[:-1]
        text = format_digest([ep for g in shown for ep in g], len(groups), dashboard_url, title)
    return Digest(text=text, episodes=tuple(ep for g in shown for ep in g))


def alerts(
    filters: OpportunityFilter,
    episodes: Iterable[EpisodeView] | BestFirst,
    sent: Mapping[int, float],
    dashboard_url: str,
    since: datetime | None = None,
    title: str = "Arbitrage alert",
) -> list[Digest]:
    """Instant mode: one message per group that is new, or whose best edge is clearly better
    than the best this subscriber was told of any of its routes; best first. A route that
    comes and goes inside a group already told is not news."""
    messages = []
    for group in grouped(select(filters, episodes, {}, since)):
        told = [sent[ep.id] for ep in group if ep.id in sent]
        if told and not clearly_better(group[0].net_edge_pct, max(told)):
            continue
        digest = build_digest(filters, group, {}, dashboard_url, since, title=title)
        if digest is not None:
            # Deliveries to record: a route already told at this very edge has its row.
            fresh = tuple(ep for ep in digest.episodes if sent.get(ep.id) != ep.net_edge_pct)
            messages.append(Digest(text=digest.text, episodes=fresh))
    return messages
