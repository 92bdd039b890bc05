"""The dashboard in real Chromium against the real app in full-mode topology: an API server
subprocess (uvicorn, Redis channel layer and book store, its own SQLite database) and this
test as the worker that writes books and runs scans.

A trader logs in, sees rows arrive from the live feed, filters and expands them, sees the
book health and the edge chart; when scans stop the page says the feed is stale, and when
the server goes away it says the connection is lost. Screenshots go to test-output/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, sync_playwright

from exchanges.models import Exchange, WithdrawalFee
from tests import free_port
from tests.factories import book, now_ms
from tests.live.browser import serve
from tests.live.browser.support import (
    app_env,
    app_process,
    launch_chromium,
    log_in,
    require_chromium,
    screenshot,
)
from tests.live.browser.worker import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROWS = "#opps tbody tr.opp-row"


def row_symbols(page: Page) -> list[str]:
    return page.eval_on_selector_all(ROWS, "rows => rows.map(r => r.dataset.symbol)")


def wait_rows(page: Page, symbols: list[str]) -> None:
    """Wait until the table lists exactly these symbols, in this order."""
    expected = ",".join(symbols)
    page.wait_for_function(
        f"Array.from(document.querySelectorAll('{ROWS}')).map(r => r.dataset.symbol).join(',') === '{expected}'"
    )


NO_WARNING = "document.getElementById('feed-warning').hidden"


def pump(page: Page, scanner: Worker, condition: str, timeout_sec: float = 30.0) -> None:
    """Scan like the worker does, until the page shows `condition` (a JS expression)."""
    for _ in range(int(timeout_sec / 0.5)):
        scanner.write_edges()
        scanner.scan()
        if page.evaluate(condition):
            return
        page.wait_for_timeout(500)
    state = page.evaluate(
        "[document.getElementById('last-scan').textContent, document.getElementById('conn-status').textContent,"
        " document.getElementById('feed-warning').textContent]"
    )
    raise AssertionError(f"the page never showed {condition!r}; last scan, connection, warning: {state}")


def warning(page: Page) -> tuple[str, str]:
    kind, text = page.eval_on_selector(
        "#feed-warning", "el => [el.dataset.kind || '', el.hidden ? '' : el.textContent]"
    )
    return kind, text


def test_a_trader_watches_the_live_dashboard(worker: Worker, tmp_path):
    require_chromium()
    # kraken's ETH withdrawal fee is known, binance's BTC one is not: one row is actionable.
    kraken, _ = Exchange.objects.get_or_create(id="kraken", defaults={"name": "Kraken"})
    WithdrawalFee.objects.create(exchange=kraken, asset="ETH", network="", fee=0)
    port = free_port()
    env = app_env(tmp_path, TEST_SCAN_INTERVAL_SEC="1", **worker.env)
    server = app_process(["-m", "tests.live.browser.serve", str(port)], env, port, tmp_path / "server.log")
    with server as app, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        log_in(page, app.base_url, serve.USER, serve.PASSWORD)

        # Rows arrive from the feed, with no warning while scans keep coming.
        pump(page, worker, f"document.querySelectorAll('{ROWS}').length >= 2 && {NO_WARNING}")
        assert sorted(row_symbols(page)) == ["BTC-USDT", "ETH-USDT"]
        assert page.inner_text("#conn-status") == "live"
        assert "ago" in page.inner_text("#last-scan") or "just now" in page.inner_text("#last-scan")
        # Each risk badge says in words what it means and what to check.
        badges = page.eval_on_selector_all(
            f"{ROWS} .risk", "spans => spans.map(s => [s.textContent, s.dataset.flag || '', s.title])"
        )
        assert any(flag == "withdraw_fee_unknown" for _, flag, _ in badges)
        for text, flag, words in badges:
            if flag:
                assert text == flag.replace("_", " ") and words.startswith(f"{flag}: ") and len(words) > len(flag) + 20
            else:
                assert text == "ok" and words == "No reason found to doubt it."

        # Book health per exchange, and the chart of net edges.
        pump(page, worker, "document.querySelectorAll('#health tbody tr[data-exchange=okx]').length === 1")
        assert page.locator("#edge-chart rect.bar").count() == 10

        # Expand a row: costs, optimal size and the books it came from.
        page.click(f"{ROWS}[data-symbol='BTC-USDT']")
        detail = page.inner_text("#opps tbody tr.detail")
        for text in (
            "taker fees",
            "slippage",
            "optimal qty",
            "optimal profit",
            "Books (evidence)",
            "binance BTC-USDT",
        ):
            assert text in detail
        # ... every column of the evidence table in view, not clipped.
        assert page.eval_on_selector(".evidence-wrap", "w => w.scrollWidth <= w.clientWidth")

        # Sort by symbol, then filter by symbol and by exchange.
        page.click("#opps th[data-sort=symbol]")
        assert row_symbols(page) == ["BTC-USDT", "ETH-USDT"]
        page.click("#opps th[data-sort=symbol]")
        assert row_symbols(page) == ["ETH-USDT", "BTC-USDT"]
        page.fill("#f-symbol", "eth")
        wait_rows(page, ["ETH-USDT"])
        page.fill("#f-symbol", "")
        wait_rows(page, ["ETH-USDT", "BTC-USDT"])
        page.select_option("#f-exchange", "okx")
        wait_rows(page, ["BTC-USDT"])
        page.select_option("#f-exchange", "")
        page.select_option("#f-type", "triangular")
        wait_rows(page, [])
        page.select_option("#f-type", "spatial")
        page.fill("#f-min-edge", "50")
        wait_rows(page, [])
        assert page.is_visible("#empty")
        page.fill("#f-min-edge", "")
        wait_rows(page, ["ETH-USDT", "BTC-USDT"])
        page.check("#f-actionable")
        wait_rows(page, ["ETH-USDT"])
        page.uncheck("#f-actionable")
        wait_rows(page, ["ETH-USDT", "BTC-USDT"])
        screenshot(page, "dashboard-live.png")

        # A phone: the page fits the screen, and so does the table, Risk column included.
        phone = browser.new_context(
            storage_state=context.storage_state(), viewport={"width": 390, "height": 844}, is_mobile=True
        ).new_page()
        phone.goto(f"{app.base_url}/")
        wait_rows(phone, ["ETH-USDT", "BTC-USDT"])  # best net edge first
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert phone.eval_on_selector(".main .table-wrap", "w => w.scrollWidth <= w.clientWidth")
        assert phone.evaluate(
            "document.querySelector('#opps th[data-sort=risk_flag]').getBoundingClientRect().right"
            " <= document.querySelector('.main .table-wrap').getBoundingClientRect().right"
        )
        screenshot(phone, "dashboard-phone.png")

        # Scans stop: the page says so (scans are due every second in this server).
        page.wait_for_function("document.getElementById('feed-warning').dataset.kind === 'stale'", timeout=30_000)
        assert warning(page)[1].startswith("Feed is stale: the last scan was")
        screenshot(page, "dashboard-stale.png")
        # ... and stops saying so at the next scan.
        pump(page, worker, NO_WARNING)

        # Ingest stops: scans go on with no book to use, and the page says the data is degraded.
        worker.services.store.clear()
        for _ in range(60):
            worker.scan()
            if page.evaluate("document.getElementById('feed-warning').dataset.kind === 'degraded'"):
                break
            page.wait_for_timeout(500)
        assert warning(page) == (
            "degraded",
            "Market data degraded (no book in the store: is ingest running?): opportunities may be missing.",
        )
        screenshot(page, "dashboard-degraded.png")
        # Books return: so do the rows, and the warning goes.
        pump(page, worker, f"document.querySelectorAll('{ROWS}').length >= 2 && {NO_WARNING}")

        # The server goes away: the page says the connection is lost and retries.
        app.stop()
        page.wait_for_function("document.getElementById('feed-warning').dataset.kind === 'down'", timeout=30_000)
        assert warning(page)[1].startswith("Live connection lost: reconnecting in")
        # Between attempts it says disconnected; during one, connecting: never live.
        assert page.inner_text("#conn-status") in ("disconnected", "connecting…")
        assert sorted(row_symbols(page)) == ["BTC-USDT", "ETH-USDT"], "the last data stays visible"
        # Book health is not "just now" any more: unknown since its last answer.
        page.wait_for_function("document.getElementById('health').classList.contains('unknown')", timeout=30_000)
        ages = page.eval_on_selector_all("#health tbody tr td:last-child", "cells => cells.map(c => c.textContent)")
        assert ages and all(re.fullmatch(r"unknown since \d\d:\d\d:\d\d", age) for age in ages), ages
        screenshot(page, "dashboard-disconnected.png")
        browser.close()


def test_a_trader_reads_one_line_per_symbol_keeps_filters_and_hears_of_new_edges(worker: Worker, tmp_path):
    """One mispriced venue opens a route to every other: the dashboard shows one line per
    symbol, best route first with its network, the others one click away, each flag in
    words; filters survive a reload; a new actionable edge is highlighted and announced."""
    require_chromium()
    venues = {name: Exchange.objects.get_or_create(id=name, defaults={"name": name})[0] for name in VENUES}
    for venue, asset, network, deposits in [
        ("binance", "BTC", "BTC", True),
        ("okx", "BTC", "BTC", True),
        ("gate", "BTC", "BTC", False),  # gate takes no BTC deposits: that route cannot be taken
        ("binance", "SOL", "SOL", True),
        ("okx", "SOL", "SOL", True),
    ]:
        WithdrawalFee.objects.create(
            exchange=venues[venue], asset=asset, network=network, fee=0.0001, deposits_enabled=deposits
        )
    sol = {"on": False}

    def write() -> None:
        ts = now_ms()
        books = [
            book("binance", "BTC-USDT", bid=99.9, ask=100.0, ts=ts),
            book("okx", "BTC-USDT", bid=101.0, ask=101.1, ts=ts),
            book("gate", "BTC-USDT", bid=100.8, ask=100.9, ts=ts),
            book("kraken", "ETH-USDT", bid=1999.0, ask=2000.0, step=1.0, ts=ts),
            book("bitstamp", "ETH-USDT", bid=2030.0, ask=2031.0, step=1.0, ts=ts),
        ]
        if sol["on"]:
            books += [
                book("binance", "SOL-USDT", bid=9.99, ask=10.0, qty=500, step=0.01, ts=ts),
                book("okx", "SOL-USDT", bid=10.1, ask=10.11, qty=500, step=0.01, ts=ts),
            ]
        worker.services.store.write_books(books)

    def until(page: Page, condition: str) -> None:
        for _ in range(60):
            write()
            worker.scan()
            if page.evaluate(condition):
                return
            page.wait_for_timeout(500)
        raise AssertionError(f"the page never showed {condition!r}")

    port = free_port()
    env = app_env(tmp_path, TEST_SCAN_INTERVAL_SEC="1", **worker.env)
    server = app_process(["-m", "tests.live.browser.serve", str(port)], env, port, tmp_path / "server.log")
    with server as app, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        log_in(page, app.base_url, serve.USER, serve.PASSWORD)

        # BTC-USDT: two routes from binance, one line; ETH-USDT: one route, one line.
        until(page, f"document.querySelectorAll('{ROWS}').length === 2 && !!document.querySelector('button.routes')")
        assert row_symbols(page) == ["ETH-USDT", "BTC-USDT"]  # best net edge first
        btc = page.locator(f"{ROWS}[data-symbol='BTC-USDT']")
        assert re.fullmatch(r"binance → okx via BTC \+1 route", btc.locator("td.route").inner_text())
        assert btc.locator(".risk").inner_text() == "ok"
        assert re.fullmatch(r"\d+ s", btc.locator("td.open-for").inner_text())
        # The other route, one click away, with its flag in words and what it means.
        btc.locator("button.routes").click()
        other = page.locator("#opps tbody tr.sub[data-symbol='BTC-USDT']")
        assert other.count() == 1 and "binance → gate" in other.locator("td.route").inner_text()
        badge = other.locator(".risk")
        assert badge.inner_text() == "no transfer route"
        assert badge.get_attribute("title").startswith("no_transfer_route: ")
        screenshot(page, "dashboard-grouped.png")

        # Only actionable: the flagged routes go, and the choice survives a reload.
        page.check("#f-actionable")
        page.wait_for_function(
            f"document.querySelectorAll('{ROWS}').length === 1 && !document.querySelector('button.routes')"
        )
        assert row_symbols(page) == ["BTC-USDT"]
        page.reload()
        until(page, f"document.querySelectorAll('{ROWS}').length === 1")
        assert page.is_checked("#f-actionable") and row_symbols(page) == ["BTC-USDT"]

        # Alerts on: a new actionable edge above the threshold is highlighted and announced.
        page.check("#f-alert")
        page.fill("#f-alert-edge", "0.1")
        # A filter that brings an actionable row back into view is not a new opportunity.
        page.fill("#f-symbol", "ETH")
        page.wait_for_function(f"document.querySelectorAll('{ROWS}').length === 0")
        page.fill("#f-symbol", "")
        until(page, f"document.querySelectorAll('{ROWS}').length === 1")
        assert page.inner_text("#alert-log") == ""
        sol["on"] = True
        until(page, "document.getElementById('alert-log').textContent.includes('SOL-USDT')")
        assert page.inner_text("#alert-log").startswith("New: SOL-USDT binance → okx: net ")
        assert "fresh" in page.locator(f"{ROWS}[data-symbol='SOL-USDT']").get_attribute("class")
        screenshot(page, "dashboard-alert.png")
        browser.close()


VENUES = ("binance", "okx", "gate", "kraken", "bitstamp")


def test_a_whole_market_scan_draws_the_best_lines_first_and_more_on_request(worker: Worker, tmp_path):
    """450 symbols with an edge: the table draws 200 lines, then 200 more, then the rest."""
    require_chromium()
    symbols = [f"C{i:03d}-USDT" for i in range(450)]

    def write() -> None:
        ts = now_ms()
        books = []
        for i, symbol in enumerate(symbols):
            books += [
                book("binance", symbol, bid=99.9, ask=100.0, ts=ts),
                book("okx", symbol, bid=101.0 + i / 1000, ask=101.1 + i / 1000, ts=ts),
            ]
        worker.services.store.write_books(books)

    port = free_port()
    env = app_env(tmp_path, TEST_SCAN_INTERVAL_SEC="1", **worker.env)
    server = app_process(["-m", "tests.live.browser.serve", str(port)], env, port, tmp_path / "server.log")
    with server as app, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        log_in(page, app.base_url, serve.USER, serve.PASSWORD)
        for _ in range(60):
            write()
            worker.scan()
            if page.locator(ROWS).count() == 200:
                break
            page.wait_for_timeout(500)
        assert page.locator(ROWS).count() == 200
        assert page.inner_text("#row-count") == "450 opportunities in 450 lines"
        assert row_symbols(page)[0] == "C449-USDT"  # the best edge first
        assert page.inner_text("#show-more") == "Show 200 more of 250"
        page.click("#show-more")
        assert page.locator(ROWS).count() == 400 and page.inner_text("#show-more") == "Show 50 more of 50"
        page.click("#show-more")
        assert page.locator(ROWS).count() == 450 and page.locator("#show-more").count() == 0
        browser.close()
