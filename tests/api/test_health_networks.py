"""/api/v1/books/health/ says, per exchange, how old its withdrawal network data is
(`networks_updated_at`: the newest withdrawal-fee row's time), read in one query, and the
OpenAPI schema documents it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from arbitrage.runtime.status import current_book_health
from exchanges.models import Exchange, WithdrawalFee
from tests.factories import book

pytestmark = pytest.mark.django_db

OLD = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
NEW = datetime(2026, 3, 2, 8, 30, 15, 250_000, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def fee(exchange: str, network: str, updated_at: datetime, *, admin: bool = False) -> None:
    row = WithdrawalFee.objects.create(exchange_id=exchange, asset="USDT", network=network, fee="1")
    WithdrawalFee.objects.filter(pk=row.pk).update(updated_at=updated_at, set_by_admin=admin)  # past auto_now


@pytest.fixture
def fees() -> None:
    Exchange.objects.exclude(id__in=["binance", "okx", "kraken"]).update(enabled=False)
    fee("binance", "ERC20", OLD)
    fee("binance", "TRC20", NEW)
    fee("okx", "ERC20", OLD, admin=True)
    # A disabled exchange's books still get a summary row, with its network data's age.
    Exchange.objects.filter(pk="bybit").update(enabled=False)
    fee("bybit", "ERC20", NEW)


def test_each_exchange_says_when_its_network_data_last_changed(
    client_trader: APIClient, store: Any, fees: None
) -> None:
    store.write_books([book("binance", "BTC-USDT"), book("bybit", "BTC-USDT")])

    body = client_trader.get("/api/v1/books/health/").json()

    ages = {e["exchange"]: e["networks_updated_at"] for e in body["exchanges"]}
    assert ages == {"binance": ms(NEW), "bybit": ms(NEW), "kraken": None, "okx": ms(OLD)}


def test_filtered_by_exchange_the_age_stays(client_trader: APIClient, store: Any, fees: None) -> None:
    body = client_trader.get("/api/v1/books/health/?exchange=okx").json()
    assert [(e["exchange"], e["networks_updated_at"]) for e in body["exchanges"]] == [("okx", ms(OLD))]


def test_the_ages_come_from_one_query_with_the_exchanges(store: Any, fees: None) -> None:
    with CaptureQueriesContext(connection) as queries:
        report = current_book_health()
    touching = [q["sql"] for q in queries.captured_queries if "exchanges_" in q["sql"]]
    assert len(touching) == 1 and "MAX(" in touching[0].upper()
    assert {e.exchange: e.networks_updated_at for e in report.exchanges}["binance"] == ms(NEW)


def test_the_schema_documents_the_field_as_a_nullable_integer(client_trader: APIClient) -> None:
    schema = client_trader.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    field = schema["components"]["schemas"]["ExchangeHealth"]["properties"]["networks_updated_at"]
    assert field["type"] == "integer" and field["nullable"] is True
    assert "withdrawal" in field["description"] and "ms since epoch" in field["description"]
    assert "networks_updated_at" in schema["components"]["schemas"]["ExchangeHealth"]["required"]
