"""Opportunity episodes: each scan folded into them.

An episode is one opportunity identity (Opportunity.episode_key: type, symbol and the two
exchanges, or exchange and cause) from the scan where it first appears until the first scan
where it is gone; a triangular episode shows its cause's latest best cycle. Each scan
updates the open episodes in one transaction: new keys open an episode, seen keys refresh
it, missing keys close it. Scans reach here in order (see arbitrage.audit.scans), so an
episode only ever moves forward.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Field

from arbitrage.engine.types import Opportunity
from arbitrage.models import Episode

logger = logging.getLogger(__name__)

# The fields copied from each scan's opportunity onto its episode.
LATEST_FIELDS = (
    "buy_vwap",
    "sell_vwap",
    "gross_edge_pct",
    "net_edge_pct",
    "expected_profit_usdt",
    "available_qty",
    "fees_pct",
    "slippage_pct",
    "withdraw_pct",
    "optimal_qty",
    "optimal_profit_usdt",
    "risk_flag",
    "ts_detected",
)


UPDATED_FIELDS = (
    "last_seen", "times_seen", "peak_net_edge_pct", "details", "settings_snapshot", "symbol", "path", *LATEST_FIELDS,
)  # fmt: skip


@dataclass(slots=True)
class EpisodeStats:
    opened: int = 0
    updated: int = 0
    closed: int = 0


def _details(found: Opportunity) -> dict[str, Any]:
    return {
        "leg_prices": found.leg_prices,
        "risk_flags": list(found.risk_flags),
        "transfer_network": found.transfer_network,
        "variants": found.variants,
        "cause": found.cause,
        "evidence": [evidence.as_dict() for evidence in found.evidence],
    }


# An episode's net edge over its life, in details["history"]: [[ts_ms, net_edge_pct], ...].
HISTORY_POINTS = 120  # ~3 KB: the episode row is rewritten every scan


def _history(previous: Any, ts: int, net_edge_pct: float) -> list[list[float]]:
    points = [p for p in previous if isinstance(p, list) and len(p) == 2] if isinstance(previous, list) else []
    points.append([ts, round(net_edge_pct, 4)])
    if len(points) > HISTORY_POINTS:
        # Halve the resolution, keeping the latest: the whole episode, in bounded size.
        points = [*points[:-1:2], points[-1]]
    return points


def _apply_latest(episode: Episode, found: Opportunity, settings_snapshot: dict[str, Any]) -> None:
    for name in LATEST_FIELDS:
        setattr(episode, name, getattr(found, name))
    episode.symbol, episode.path = found.symbol, found.path  # a cause's best cycle may change
    previous = episode.details.get("history") if isinstance(episode.details, dict) else None
    episode.details = {**_details(found), "history": _history(previous, found.ts_detected, found.net_edge_pct)}
    episode.settings_snapshot = settings_snapshot


def _update_rows(rows: list[Episode], names: Sequence[str]) -> None:
    """One parameterised UPDATE per row, sent with executemany (pipelined by psycopg 3).

    Django's bulk_update builds a CASE expression per field and row; for a few hundred open
    episodes every 5 s that alone cost ~1 s here, ten times this.
    """
    if not rows:
        return
    fields = [field for name in names if isinstance(field := Episode._meta.get_field(name), Field)]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column or field.attname)} = %s" for field in fields)
    sql = f"UPDATE {quote(Episode._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"
    params = [
        [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields] + [row.pk] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def record_scan(found: list[Opportunity], scanned_at: datetime, settings_snapshot: dict[str, Any]) -> EpisodeStats:
    """Fold one scan's opportunities into the episodes. Raises on database errors (the
    caller keeps the scan and retries), so a scan is recorded whole or not at all."""
    stats = EpisodeStats()
    by_key: dict[str, Opportunity] = {}
    for item in found:
        # The engine reports each identity once; keep the best if it ever did not.
        key = item.episode_key
        if key not in by_key or item.net_edge_pct > by_key[key].net_edge_pct:
            by_key[key] = item

    with transaction.atomic():
        open_episodes = {ep.key: ep for ep in Episode.objects.select_for_update().filter(is_open=True)}
        to_update: list[Episode] = []
        to_create: list[Episode] = []
        for key, item in by_key.items():
            episode = open_episodes.pop(key, None)
            if episode is None:
                episode = Episode(
                    key=key,
                    type=item.type,
                    symbol=item.symbol,
                    buy_exchange=item.buy_exchange,
                    sell_exchange=item.sell_exchange,
                    exchange=item.exchange or "",
                    path=item.path,
                    first_seen=scanned_at,
                    last_seen=scanned_at,
                    times_seen=1,
                    peak_net_edge_pct=item.net_edge_pct,
                )
                _apply_latest(episode, item, settings_snapshot)
                to_create.append(episode)
            else:
                episode.last_seen = scanned_at
                episode.times_seen += 1
                episode.peak_net_edge_pct = max(episode.peak_net_edge_pct, item.net_edge_pct)
                _apply_latest(episode, item, settings_snapshot)
                to_update.append(episode)
        Episode.objects.bulk_create(to_create, batch_size=500)
        _update_rows(to_update, UPDATED_FIELDS)
        if open_episodes:
            Episode.objects.filter(pk__in=[ep.pk for ep in open_episodes.values()]).update(
                is_open=False, closed_at=scanned_at
            )
        stats.opened, stats.updated, stats.closed = len(to_create), len(to_update), len(open_episodes)
    return stats
