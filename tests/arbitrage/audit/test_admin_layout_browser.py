"""The episode list as an operator sees it in Chromium on a 1440 px screen: every column in
view without scrolling sideways, with the longest routes and flags a day brings."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import sync_playwright

from arbitrage.audit import ScanOutcome, apply_scan
from tests.factories import opportunity
from tests.live.browser.support import launch_chromium, require_chromium, screenshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def a_busy_scan() -> None:
    cycle = replace(
        opportunity("LINK-ETH", "cryptocom", "cryptocom", 0.31234),
        type="triangular",
        buy_exchange="",
        sell_exchange="",
        exchange="cryptocom",
        path=["USDT", "BTC", "ETH", "LINK", "USDT"],
    )
    found = [
        replace(opportunity("AVAX-USDT", "cryptocom", sell, 1.2345 + i / 100), risk_flag="withdraw_fee_unknown")
        for i, sell in enumerate(["bitstamp", "coinbase", "bitfinex", "kucoin", "gemini"])
    ]
    moment = dt.datetime(2026, 3, 1, 12, 0, 5, tzinfo=dt.UTC)
    apply_scan(
        ScanOutcome(
            id=int(moment.timestamp() * 1000),
            duration_ms=1.0,
            books_total=9,
            books_used=9,
            opportunities=[cycle, *found],
        )
    )


def test_the_episode_list_fits_a_1440_px_screen(live_server) -> None:  # type: ignore[no-untyped-def]
    require_chromium()
    get_user_model().objects.create_superuser("boss", password="pw-boss-123")
    a_busy_scan()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("input[name=username]", "boss")
        page.fill("input[name=password]", "pw-boss-123")
        page.click("input[type=submit]")
        page.goto(f"{live_server.url}/admin/arbitrage/episode/")
        assert page.locator("#result_list tbody tr").count() == 6
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # Django's list scrolls inside its box when too wide: it must not need to.
        assert page.eval_on_selector("#changelist .results", "r => r.scrollWidth <= r.clientWidth")
        screenshot(page, "admin-episodes-1440.png")
        browser.close()
