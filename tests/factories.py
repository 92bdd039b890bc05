"""Test data factories (factory_boy) for the models and the engine's value types."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import factory

from arbitrage.engine.types import Opportunity
from exchanges.models import Exchange, WatchedSymbol, WithdrawalFee
from kernel.book import OrderBookSnapshot


class ExchangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exchange
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"exch{n}")
    name = factory.LazyAttribute(lambda o: o.id.title())
    taker_fee_bps = Decimal("10")


class WatchedSymbolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WatchedSymbol
        django_get_or_create = ("symbol",)

    symbol = "BTC-USDT"


class WithdrawalFeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WithdrawalFee

    exchange = factory.SubFactory(ExchangeFactory)
    asset = "BTC"
    network = "BTC"
    fee = Decimal("0.0002")


def now_ms() -> int:
    return int(time.time() * 1000)


def book(
    exchange: str = "binance",
    symbol: str = "BTC-USDT",
    *,
    bid: float = 100.0,
    ask: float = 100.1,
    qty: float = 10.0,
    levels: int = 5,
    step: float = 0.1,
    ts: int | None = None,
    healthy: bool = True,
    **meta: Any,
) -> OrderBookSnapshot:
    """A tidy book: `levels` levels of `qty` each side, `step` apart from the best prices."""
    ts = now_ms() if ts is None else ts
    return OrderBookSnapshot(
        exchange=exchange,
        symbol=symbol,
        bids=[[bid - i * step, qty] for i in range(levels)],
        asks=[[ask + i * step, qty] for i in range(levels)],
        ts_event=ts,
        ts_ingest=ts,
        is_healthy=healthy,
        meta={"seq_id": 1, "checksum_ok": True, "lag_ms": 0, **meta},
    )


def edge_books(ts: int | None = None) -> list[OrderBookSnapshot]:
    """Two books with a spatial edge: buy BTC on binance at 100.0, sell on okx at 101.0."""
    return [
        book("binance", "BTC-USDT", bid=99.9, ask=100.0, ts=ts),
        book("okx", "BTC-USDT", bid=101.0, ask=101.1, ts=ts),
    ]


def opportunity(symbol: str = "BTC-USDT", buy: str = "binance", sell: str = "okx", net: float = 0.5) -> Opportunity:
    return Opportunity(
        type="spatial",
        symbol=symbol,
        buy_exchange=buy,
        sell_exchange=sell,
        buy_vwap=100.0,
        sell_vwap=100.0 * (1 + (net + 0.25) / 100),
        gross_edge_pct=net + 0.25,
        net_edge_pct=net,
        expected_profit_usdt=net * 10,
        available_qty=10.0,
        risk_flag="ok",
        ts_detected=now_ms(),
        fees_pct=0.2,
        slippage_pct=0.05,
        withdraw_pct=0.0,
        optimal_qty=10.0,
        optimal_profit_usdt=net * 10,
    )
