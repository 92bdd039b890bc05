"""End to end, as a user runs it: `manage.py demo` (here without the simulated market, with
its book store in Redis so this test can play the connector). A book written to the store
becomes a row on the dashboard through the demo's own scan timer, the channel layer and the
WebSocket; the same opportunity is readable over REST with a JWT."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import sync_playwright

from demo.management.commands.demo import DEMO_PASSWORD, DEMO_USER
from tests import free_port
from tests.factories import book, now_ms
from tests.live.browser.support import (
    app_env,
    app_process,
    launch_chromium,
    log_in,
    require_chromium,
    screenshot,
)
from tests.live.browser.worker import Worker, private_redis_worker

pytestmark = pytest.mark.slow

ROW = "#opps tbody tr.opp-row[data-symbol='SOL-USDT']"  # one line per symbol


@pytest.fixture
def connector(settings, redis_url: str) -> Iterator[Worker]:
    with private_redis_worker(settings, redis_url) as worker:
        yield worker


def write_sol_books(connector: Worker) -> None:
    """SOL-USDT is cheap on kraken and dear on bitstamp: a spatial edge of about 1.3 %."""
    ts = now_ms()
    connector.services.store.write_books(
        [
            book("kraken", "SOL-USDT", bid=149.9, ask=150.0, qty=50.0, ts=ts),
            book("bitstamp", "SOL-USDT", bid=152.0, ask=152.1, qty=50.0, ts=ts),
        ]
    )


def test_a_book_in_the_store_becomes_a_row_on_the_dashboard(connector: Worker, tmp_path):
    require_chromium()
    port = free_port()
    env = app_env(tmp_path, **connector.env)
    demo = app_process(["manage.py", "demo", "--no-market", "--port", str(port)], env, port, tmp_path / "demo.log")
    with demo as app, sync_playwright() as playwright:
        page = launch_chromium(playwright).new_page()
        log_in(page, app.base_url, DEMO_USER, DEMO_PASSWORD)
        assert page.locator(ROW).count() == 0

        # The connector keeps its books fresh; the demo scans every few seconds.
        for _ in range(60):
            write_sol_books(connector)
            if page.locator(ROW).count():
                break
            page.wait_for_timeout(500)
        else:
            raise AssertionError(f"no SOL-USDT row appeared; demo log:\n{app.log()}")
        cells = page.locator(f"{ROW} td").all_inner_texts()
        assert cells[1] == "SOL-USDT" and cells[2].startswith("kraken → bitstamp")  # then its network
        assert float(cells[3]) > 0.5
        screenshot(page, "e2e-dashboard.png")

        # The same, over REST with a token.
        with httpx.Client(base_url=app.base_url) as api:
            token = api.post("/api/v1/auth/token/", json={"username": DEMO_USER, "password": DEMO_PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access']}"}
            current = api.get("/api/v1/opportunities/?symbol=SOL-USDT", headers=headers).json()
            assert [(i["buy_exchange"], i["sell_exchange"]) for i in current["items"]] == [("kraken", "bitstamp")]
            episodes = api.get("/api/v1/episodes/?symbol=SOL-USDT", headers=headers).json()
            assert episodes["count"] == 1 and episodes["results"][0]["is_open"] is True
