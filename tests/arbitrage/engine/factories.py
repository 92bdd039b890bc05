"""Books for engine tests: a fresh, healthy book unless a test says otherwise."""

from __future__ import annotations

from typing import Any

from kernel.book import OrderBookSnapshot

NOW = 1_700_000_000_000


def book(
    exchange: str,
    symbol: str,
    bids: list[list[float]] | None = None,
    asks: list[list[float]] | None = None,
    *,
    ts_ingest: int = NOW - 100,
    lag_ms: int = 20,
    healthy: bool = True,
    meta: dict[str, Any] | None = None,
) -> OrderBookSnapshot:
    return OrderBookSnapshot(
        exchange=exchange,
        symbol=symbol,
        bids=[list(map(float, level)) for level in bids or []],
        asks=[list(map(float, level)) for level in asks or []],
        ts_event=ts_ingest - lag_ms,
        ts_ingest=ts_ingest,
        is_healthy=healthy,
        meta=meta if meta is not None else {"seq_id": 7, "checksum_ok": True},
    )


def quote(exchange: str, symbol: str, mid: float, *, spread_bps: float = 2.0, depth: float = 1e6) -> OrderBookSnapshot:
    """A deep two-sided book around `mid`: `depth` quote units on each of 3 levels."""
    half = mid * spread_bps / 20_000.0
    tick = mid * 1e-4
    bids = [[mid - half - i * tick, depth / mid] for i in range(3)]
    asks = [[mid + half + i * tick, depth / mid] for i in range(3)]
    return book(exchange, symbol, bids, asks)
