"""Opportunity episodes: the audit trail in the database.

An episode is one opportunity identity (Opportunity.episode_key: type, symbol and the two
exchanges, or exchange and path) from the scan where it first appears until the first scan
where it is gone. Each scan updates the open episodes in one transaction: new keys open an
episode, seen keys refresh it, missing keys close it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from arbitrage.engine.types import Opportunity as Found
from arbitrage.models import Opportunity as Episode

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


@dataclass(slots=True)
class EpisodeStats:
    opened: int = 0
    updated: int = 0
    closed: int = 0


def _details(found: Found) -> dict[str, Any]:
    return {
        "leg_prices": found.leg_prices,
        "risk_flags": list(found.risk_flags),
        "evidence": [evidence.as_dict() for evidence in found.evidence],
    }


def _apply_latest(episode: Episode, found: Found, settings_snapshot: dict[str, Any]) -> None:
    for name in LATEST_FIELDS:
        setattr(episode, name, getattr(found, name))
    episode.details = _details(found)
    episode.settings_snapshot = settings_snapshot


def record_scan(found: list[Found], scanned_at: datetime, settings_snapshot: dict[str, Any]) -> EpisodeStats:
    """Fold one scan's opportunities into the episodes. Raises on database errors (the
    caller keeps the scan and retries), so a scan is recorded whole or not at all."""
    stats = EpisodeStats()
    by_key: dict[str, Found] = {}
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
        if to_update:
            Episode.objects.bulk_update(
                to_update,
                ["last_seen", "times_seen", "peak_net_edge_pct", "details", "settings_snapshot", *LATEST_FIELDS],
                batch_size=500,
            )
        if open_episodes:
            Episode.objects.filter(pk__in=[ep.pk for ep in open_episodes.values()]).update(
                is_open=False, closed_at=scanned_at
            )
        stats.opened, stats.updated, stats.closed = len(to_create), len(to_update), len(open_episodes)
    return stats
