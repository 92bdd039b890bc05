"""Exchanges, fees and scanner settings over REST: everyone logged in reads, staff write, and
a write is checked by the same rules (and messages) as in admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from arbitrage.models import ScannerSettings
from exchanges.models import Exchange, WithdrawalFee

pytestmark = pytest.mark.django_db


def test_exchanges_are_listed_with_their_fees(client_trader: APIClient):
    body = client_trader.get("/api/v1/exchanges/?limit=100").json()
    assert body["count"] == Exchange.objects.count() == 14
    binance = next(row for row in body["results"] if row["id"] == "binance")
    assert binance["taker_fee_bps"] == "10.000" and binance["enabled"] is True


def test_staff_changes_a_fee_and_it_is_marked_as_set_by_an_admin(client_staff: APIClient):
    response = client_staff.patch("/api/v1/exchanges/binance/", {"taker_fee_bps": "7.5"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["taker_fee_bps"] == "7.500" and response.json()["fee_set_by_admin"] is True
    assert Exchange.objects.get(id="binance").taker_fee_bps == Decimal("7.5")


def test_a_negative_fee_is_refused_with_admins_message_and_nothing_changes(client_staff: APIClient):
    response = client_staff.patch("/api/v1/exchanges/binance/", {"taker_fee_bps": "-1"}, format="json")
    assert response.status_code == 400
    assert "greater than or equal to 0" in response.json()["taker_fee_bps"][0]
    assert Exchange.objects.get(id="binance").taker_fee_bps == Decimal("10")


def test_an_exchange_id_cannot_be_renamed(client_staff: APIClient):
    response = client_staff.patch("/api/v1/exchanges/binance/", {"id": "other"}, format="json")
    assert response.status_code == 200
    assert Exchange.objects.filter(id="binance").exists() and not Exchange.objects.filter(id="other").exists()


def test_staff_adds_an_exchange_normalised_like_admin_does(client_staff: APIClient):
    response = client_staff.post("/api/v1/exchanges/", {"id": " NewEx ", "name": "New Ex"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["id"] == "newex"
    duplicate = client_staff.post("/api/v1/exchanges/", {"id": "newex", "name": "Again"}, format="json")
    assert duplicate.status_code == 400 and "already exists" in duplicate.json()["id"][0]
    bad = client_staff.post("/api/v1/exchanges/", {"id": "no way!", "name": "Bad"}, format="json")
    assert bad.status_code == 400 and "lower-case exchange id" in bad.json()["id"][0]


def test_withdrawal_fees_are_created_filtered_and_validated(client_staff: APIClient, client_trader: APIClient):
    created = client_staff.post(
        "/api/v1/withdrawal-fees/",
        {"exchange": "binance", "asset": "btc", "network": "btc", "fee": "0.0002"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    row = created.json()
    assert (row["asset"], row["network"], row["set_by_admin"]) == ("BTC", "BTC", True)
    assert client_trader.get("/api/v1/withdrawal-fees/?exchange=binance&asset=btc").json()["count"] == 1
    assert client_trader.get("/api/v1/withdrawal-fees/?exchange=okx").json()["count"] == 0

    unknown = client_staff.post(
        "/api/v1/withdrawal-fees/", {"exchange": "binance", "asset": "NOPE", "fee": "1"}, format="json"
    )
    assert unknown.status_code == 400
    assert "Unknown asset NOPE" in unknown.json()["asset"][0] and "BTC" in unknown.json()["asset"][0]
    twice = client_staff.post(
        "/api/v1/withdrawal-fees/",
        {"exchange": "binance", "asset": "BTC", "network": "BTC", "fee": "0.1"},
        format="json",
    )
    assert twice.status_code == 400 and "already exists" in str(twice.json())
    negative = client_staff.patch(f"/api/v1/withdrawal-fees/{row['id']}/", {"fee": "-0.1"}, format="json")
    assert negative.status_code == 400 and "fee" in negative.json()
    assert WithdrawalFee.objects.get().fee == Decimal("0.0002")
    assert client_staff.delete(f"/api/v1/withdrawal-fees/{row['id']}/").status_code == 204


def test_settings_are_read_and_changed_by_staff(client_trader: APIClient, client_staff: APIClient):
    body = client_trader.get("/api/v1/settings/").json()
    assert body["min_net_edge_pct"] == "0.1000" and body["scan_interval_sec"] == "5.00"
    response = client_staff.patch(
        "/api/v1/settings/", {"min_net_edge_pct": "0.25", "scan_interval_sec": 2}, format="json"
    )
    assert response.status_code == 200, response.json()
    saved = ScannerSettings.load()
    assert saved.min_net_edge_pct == Decimal("0.25") and saved.scan_interval_sec == Decimal("2")
    assert ScannerSettings.objects.count() == 1


def test_extreme_edge_must_exceed_the_min_net_edge_as_in_admin(client_staff: APIClient):
    response = client_staff.patch("/api/v1/settings/", {"min_net_edge_pct": "6"}, format="json")
    assert response.status_code == 400
    assert "Must be above the min net edge (6" in response.json()["extreme_edge_pct"][0]
    assert ScannerSettings.load().min_net_edge_pct == Decimal("0.1")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("stale_after_sec", "0", "greater than or equal to 0.5"),
        ("scan_interval_sec", "4000", "less than or equal to 3600"),
        ("scan_interval_sec", "99999", "no more than 4 digits before the decimal point"),
        ("high_lag_ms", -5, "greater than or equal to"),
        ("target_notional_usdt", "lots", "A valid number is required"),
    ],
)
def test_out_of_range_settings_are_400s_naming_the_field(client_staff: APIClient, field: str, value, message: str):
    response = client_staff.patch("/api/v1/settings/", {field: value}, format="json")
    assert response.status_code == 400
    assert message in response.json()[field][0]


def test_put_replaces_every_setting(client_staff: APIClient):
    body = client_staff.get("/api/v1/settings/").json()
    body.pop("updated_at")
    body["slippage_bps"] = "7.5"
    response = client_staff.put("/api/v1/settings/", body, format="json")
    assert response.status_code == 200, response.json()
    assert ScannerSettings.load().slippage_bps == Decimal("7.5")
