"""Episodes as the digest sees them, with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from notifications.digest import Episode

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def episode(id: int = 1, **fields: Any) -> Episode:
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
    return Episode(**values)
