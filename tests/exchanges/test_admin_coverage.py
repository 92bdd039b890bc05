"""Admin: the market coverage switch, and every discovered pair with why it was left out."""

from __future__ import annotations

import pytest
from django.utils import timezone

from exchanges.models import DiscoveredMarket, MarketCoverage

pytestmark = pytest.mark.django_db


def test_discovered_pairs_show_where_they_are_listed_and_why_one_was_left_out(admin_client) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    DiscoveredMarket.objects.create(symbol="BTC-USDT", exchanges=["binance", "okx"], included=True, discovered_at=now)
    DiscoveredMarket.objects.create(
        symbol="PEPE-USDT",
        exchanges=["binance"],
        included=False,
        reason="listed on one exchange only (binance)",
        discovered_at=now,
    )
    page = admin_client.get("/admin/exchanges/discoveredmarket/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "2: binance, okx" in text and "listed on one exchange only (binance)" in text
    left_out = admin_client.get("/admin/exchanges/discoveredmarket/?included__exact=0").content.decode()
    assert "PEPE-USDT" in left_out and "BTC-USDT" not in left_out
    assert admin_client.get("/admin/exchanges/discoveredmarket/add/").status_code == 403  # discovery owns them


def test_the_coverage_is_one_row_an_admin_switches_to_the_whole_market(admin_client) -> None:  # type: ignore[no-untyped-def]
    assert admin_client.get("/admin/exchanges/marketcoverage/").status_code == 200
    response = admin_client.post(
        "/admin/exchanges/marketcoverage/1/change/", {"mode": "whole_market", "max_symbols_per_exchange": "0"}
    )
    assert (
        response.status_code == 200 and "Ensure this value is greater than or equal to 1" in response.content.decode()
    )
    admin_client.post(
        "/admin/exchanges/marketcoverage/1/change/", {"mode": "whole_market", "max_symbols_per_exchange": "500"}
    )
    coverage = MarketCoverage.current()
    assert (coverage.mode, coverage.max_symbols_per_exchange) == ("whole_market", 500)
    assert MarketCoverage.objects.count() == 1
