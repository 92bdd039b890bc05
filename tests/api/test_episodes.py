"""/api/v1/episodes/: the audit of opportunities, filtered and paginated; bad filter values
are 400s that name the filter."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from arbitrage.audit import record_scan
from tests.factories import opportunity

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def triangular(net: float = 0.4):
    return replace(
        opportunity("ETH-BTC", "okx", "okx", net),
        type="triangular",
        exchange="okx",
        path=["USDT", "BTC", "ETH", "USDT"],
        risk_flag="thin_book",
        risk_flags=["thin_book"],
    )


@pytest.fixture
def episodes():
    """Three scans: BTC binance->okx is seen twice then closes, ETH and a cycle stay open."""
    btc = opportunity("BTC-USDT", "binance", "okx", 0.5)
    eth = replace(opportunity("ETH-USDT", "kraken", "binance", 1.2), risk_flag="withdraw_fee_unknown")
    record_scan([btc], T0, {})
    record_scan([btc, eth], T0 + timedelta(seconds=5), {})
    record_scan([eth, triangular()], T0 + timedelta(seconds=10), {})


def symbols(response) -> list[str]:
    return [row["symbol"] for row in response.json()["results"]]


def test_episodes_are_listed_newest_first_with_their_history(client_trader: APIClient, episodes):
    body = client_trader.get("/api/v1/episodes/").json()
    assert body["count"] == 3
    first = body["results"][0]
    assert first["last_seen"] == "2026-01-01T12:00:10Z"
    btc = next(row for row in body["results"] if row["symbol"] == "BTC-USDT")
    assert btc["is_open"] is False and btc["times_seen"] == 2 and btc["closed_at"] == "2026-01-01T12:00:10Z"
    assert btc["buy_exchange"] == "binance" and btc["net_edge_pct"] == 0.5
    detail = client_trader.get(f"/api/v1/episodes/{btc['id']}/").json()
    assert detail == btc


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=triangular", ["ETH-BTC"]),
        ("symbol=BTC-USDT", ["BTC-USDT"]),
        ("symbol=btc/usdt", ["BTC-USDT"]),
        ("symbol=BTC", ["BTC-USDT", "ETH-BTC"]),  # an asset: its symbols and cycles through it
        ("symbol=USDT", ["BTC-USDT", "ETH-BTC", "ETH-USDT"]),
        ("exchange=kraken", ["ETH-USDT"]),
        ("exchange=okx", ["BTC-USDT", "ETH-BTC"]),
        ("min_net_edge=1", ["ETH-USDT"]),
        ("risk=flagged", ["ETH-BTC", "ETH-USDT"]),
        ("risk=ok", ["BTC-USDT"]),
        ("risk=thin_book", ["ETH-BTC"]),
        ("risk=actionable", ["BTC-USDT", "ETH-BTC"]),  # not the unknown withdrawal fee
        ("is_open=false", ["BTC-USDT"]),
        ("since=2026-01-01T12:00:06Z", ["ETH-BTC", "ETH-USDT"]),
        ("until=2026-01-01T12:00:04Z", ["BTC-USDT"]),
        ("since=2026-01-01T12:00:01Z&until=2026-01-01T12:00:06Z", ["BTC-USDT", "ETH-USDT"]),
        # The same instant with an offset PostgreSQL cannot hold (it stops at 15:59).
        ("until=2026-01-02T11:59:04%2B23:59", ["BTC-USDT"]),
        ("type=spatial&exchange=binance&min_net_edge=0.6", ["ETH-USDT"]),
        # The identity the WebSocket's items carry, for an expanded row's history.
        ("key=spatial|ETH-USDT|kraken|binance", ["ETH-USDT"]),
        ("key=spatial|ETH-USDT|binance|kraken", []),
    ],
)
def test_filters_select_the_matching_episodes(client_trader: APIClient, episodes, query: str, expected: list[str]):
    response = client_trader.get(f"/api/v1/episodes/?{query}")
    assert response.status_code == 200
    assert sorted(symbols(response)) == expected


def test_ordering_and_pagination(client_trader: APIClient, episodes):
    page = client_trader.get("/api/v1/episodes/?ordering=-net_edge_pct&limit=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert [row["net_edge_pct"] for row in page["results"]] == [1.2, 0.5]
    rest = client_trader.get("/api/v1/episodes/?ordering=-net_edge_pct&limit=2&offset=2").json()
    assert [row["symbol"] for row in rest["results"]] == ["ETH-BTC"] and rest["next"] is None


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("type=futures", "type", "Select a valid choice"),
        ("min_net_edge=lots", "min_net_edge", "Enter a number"),
        ("risk=scary", "risk", "Select a valid choice"),
        ("since=yesterday", "since", "Enter a valid date/time"),
        ("until=0001-01-01T00:00:00%2B01:00", "until", "out of range"),
        ("is_open=maybe", "is_open", ""),
        ("symbol=BTC_USDT", "symbol", "neither an asset (BTC) nor a symbol (BTC-USDT)"),
        ("exchange=Bin%20ance", "exchange", "is not an exchange id"),
        ("exchange=50%25s%25d", "exchange", "'50%s%d' is not an exchange id"),
        ("ordering=password", "ordering", "Select a valid choice"),
    ],
)
def test_invalid_filter_values_are_400s_naming_the_filter(
    client_trader: APIClient, query: str, field: str, message: str
):
    response = client_trader.get(f"/api/v1/episodes/?{query}")
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert message in errors[field][0]


def test_a_huge_limit_is_capped_not_a_server_error(client_trader: APIClient, episodes):
    response = client_trader.get(f"/api/v1/episodes/?limit={10**30}&offset={10**30}")
    assert response.status_code == 200 and response.json()["results"] == []
    assert client_trader.get(f"/api/v1/episodes/?limit={10**30}").json()["count"] == 3


def test_episodes_are_read_only(client_staff: APIClient, episodes):
    assert client_staff.post("/api/v1/episodes/", {}, format="json").status_code == 405
