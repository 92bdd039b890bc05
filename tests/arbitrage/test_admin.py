"""Admins edit the scan's thresholds (bad values get clear form errors and nothing is
saved) and read, never edit, the audit of episodes."""

from decimal import Decimal

import pytest
from django.test import Client

from arbitrage.models import Episode, ScannerSettings
from tests.conftest import errors_of

pytestmark = pytest.mark.django_db


SETTINGS_FORM = {
    "target_notional_usdt": "1000",
    "min_net_edge_pct": "0.1",
    "slippage_bps": "5",
    "stale_after_sec": "10",
    "extreme_edge_pct": "5",
    "high_lag_ms": "2000",
    "scan_interval_sec": "5",
}


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("target_notional_usdt", "0", "greater than or equal to 1"),
        ("slippage_bps", "-5", "greater than or equal to 0"),
        ("stale_after_sec", "100000", "less than or equal to 3600"),
        ("scan_interval_sec", "0.1", "greater than or equal to 1"),
        ("extreme_edge_pct", "0.05", "above the min net edge"),
        ("min_net_edge_pct", "abc", "Enter a number"),
    ],
)
def test_absurd_scanner_thresholds_are_refused(admin: Client, field: str, value: str, error: str):
    ScannerSettings.load()
    response = admin.post("/admin/arbitrage/scannersettings/1/change/", {**SETTINGS_FORM, field: value})
    assert response.status_code == 200
    assert error in " ".join(errors_of(response)[field])
    assert ScannerSettings.load().target_notional_usdt == Decimal("1000")


def test_scanner_settings_change_is_saved(admin: Client):
    ScannerSettings.load()
    response = admin.post(
        "/admin/arbitrage/scannersettings/1/change/", {**SETTINGS_FORM, "target_notional_usdt": "2500"}
    )
    assert response.status_code == 302
    assert ScannerSettings.load().to_params().target_notional_usdt == 2500.0


def test_the_episode_audit_is_read_only_but_viewable_with_filters(admin: Client):
    from datetime import UTC, datetime

    from arbitrage.audit import record_scan
    from tests.factories import opportunity

    record_scan([opportunity("ETH-USDT", net=0.7)], datetime.now(UTC), {})
    listing = admin.get("/admin/arbitrage/episode/?type__exact=spatial&q=ETH")
    assert listing.status_code == 200 and "ETH-USDT" in listing.content.decode()
    pk = Episode.objects.get().pk
    assert admin.post(f"/admin/arbitrage/episode/{pk}/change/", {"net_edge_pct": "99"}).status_code == 403
    assert admin.get("/admin/arbitrage/episode/add/").status_code == 403
    assert Episode.objects.get().net_edge_pct == 0.7


def test_the_audit_listing_of_before_the_rename_leads_to_the_episodes(admin: Client):
    response = admin.get("/admin/arbitrage/opportunity/?q=ETH")
    assert response.status_code in (301, 302) and response["Location"] == "/admin/arbitrage/episode/?q=ETH"
