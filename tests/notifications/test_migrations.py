"""An existing installation upgrades without losing what its subscribers asked for: the old
filter columns become the shared filter language, deliveries keep their episode."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from arbitrage.filters import OpportunityFilter

BEFORE = [
    ("arbitrage", "0001_initial"),
    ("notifications", "0001_initial"),
    ("exchanges", "0002_seed_exchanges_and_watchlist"),
]
AFTER = [
    ("arbitrage", "0002_rename_opportunity_episode"),
    ("notifications", "0002_subscriber_filters_delivery_episode"),
]


def migrate(targets: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_old_subscribers_keep_their_filters_and_deliveries_their_episode():
    old = migrate(BEFORE)
    now = datetime.now(UTC)
    episode = old.get_model("arbitrage", "Opportunity").objects.create(
        key="spatial|ETH-USDT|binance|okx", type="spatial", symbol="ETH-USDT", buy_exchange="binance",
        sell_exchange="okx", first_seen=now, last_seen=now, peak_net_edge_pct=0.7, buy_vwap=1.0, sell_vwap=1.0,
        gross_edge_pct=1.0, net_edge_pct=0.7, expected_profit_usdt=7.0, available_qty=1.0, fees_pct=0.2,
        slippage_pct=0.05, withdraw_pct=0.0, optimal_qty=1.0, optimal_profit_usdt=7.0, risk_flag="ok", ts_detected=1,
    )  # fmt: skip
    subscribers = old.get_model("notifications", "Subscriber").objects
    picky = subscribers.create(
        chat_id=1,
        symbols=["BTC-USDT", "ETH-USDT"],
        exchanges=["binance"],
        type_filter="spatial",
        only_ok=False,
        min_net_edge_pct=Decimal("0.25"),
    )
    subscribers.create(chat_id=2)  # the defaults: risk ok only
    old.get_model("notifications", "Delivery").objects.create(subscriber=picky, opportunity=episode, net_edge_pct=0.7)

    new = migrate(AFTER)
    filters = {sub.chat_id: sub.filters for sub in new.get_model("notifications", "Subscriber").objects.all()}
    assert filters == {
        1: {"symbol": "BTC-USDT,ETH-USDT", "exchange": "binance", "type": "spatial", "min_net_edge": 0.25},
        2: {"risk": "ok"},
    }
    assert all(OpportunityFilter.parse(words) for words in filters.values())
    delivery = new.get_model("notifications", "Delivery").objects.get()
    assert delivery.episode.symbol == "ETH-USDT"
    migrate(executor_leaf_nodes())


def executor_leaf_nodes() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
