"""Episodes as the digest sees them, with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from notifications.digest import EpisodeView

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def episode(id: int = 1, **fields: Any) -> EpisodeView:
    values: dict[str, Any] = {
        "id": id,
        "type": "spatial",
        "symbol": "BTC-USDT",
        "buy_exchange": "binance",
        "sell_exchange": "okx",
        "exchange": "",
        "path": (),
        "net_edge_pct": 0.5,
        "expected_profit_usdt": 5.0,
        "available_qty": 0.0123,
        "optimal_profit_usdt": 7.5,
        "risk_flag": "ok",
        "is_open": True,
        "last_seen": T0,
    }
    values.update(fields)
    return EpisodeView(**values)


def episode_row(symbol: str = "BTC-USDT", buy: str = "binance", sell: str = "okx", net: float = 0.5, **fields: Any):  # type: ignore[no-untyped-def]
    """An open spatial episode in the database."""
    from django.utils import timezone

    from arbitrage.models import Episode

    now = timezone.now()
    values: dict[str, Any] = {
        "key": f"spatial|{symbol}|{buy}|{sell}",
        "type": "spatial",
        "symbol": symbol,
        "buy_exchange": buy,
        "sell_exchange": sell,
        "first_seen": now,
        "last_seen": now,
        "peak_net_edge_pct": net,
        "buy_vwap": 100.0,
        "sell_vwap": 100.0 + net,
        "gross_edge_pct": net + 0.25,
        "net_edge_pct": net,
        "expected_profit_usdt": net * 10,
        "available_qty": 10.0,
        "fees_pct": 0.2,
        "slippage_pct": 0.05,
        "withdraw_pct": 0.0,
        "optimal_qty": 10.0,
        "optimal_profit_usdt": net * 12,
        "risk_flag": "ok",
        "ts_detected": int(now.timestamp() * 1000),
    }
    values.update(fields)
    return Episode.objects.create(**values)
