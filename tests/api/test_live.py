"""/api/v1/opportunities/ (the latest scan) and /api/v1/books/health/: what the scanner sees
now, read from the book store the scan writes to."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rest_framework.test import APIClient

from arbitrage.models import ScannerSettings
from arbitrage.runtime.feed import ScanMessage
from arbitrage.runtime.scan import run_scan
from arbitrage.runtime.services import get_services
from exchanges.models import Exchange
from tests.factories import book, now_ms, opportunity

pytestmark = pytest.mark.django_db


def test_before_any_scan_there_is_nothing_and_no_error(client_trader: APIClient, store):
    body = client_trader.get("/api/v1/opportunities/").json()
    assert body == {"ts": None, "age_ms": None, "count": 0, "total": 0, "filters": {}, "items": []}


def test_current_opportunities_are_those_of_the_latest_scan(client_trader: APIClient, store):
    store.write_books(
        [
            book("binance", "BTC-USDT", bid=99.9, ask=100.0),
            book("okx", "BTC-USDT", bid=101.0, ask=101.1),
        ]
    )
    report = run_scan()
    body = client_trader.get("/api/v1/opportunities/").json()
    assert body["ts"] == report.ts and 0 <= body["age_ms"] < 60_000
    assert body["count"] == body["total"] == report.opportunities >= 1
    item = body["items"][0]
    assert (item["type"], item["symbol"], item["buy_exchange"], item["sell_exchange"]) == (
        "spatial",
        "BTC-USDT",
        "binance",
        "okx",
    )
    assert item["net_edge_pct"] > 0.1
    assert {e["exchange"] for e in item["evidence"]} == {"binance", "okx"}


def publish(store, *items) -> int:
    ts = now_ms()
    get_services().feed.publish(ScanMessage.of(ts, items))
    return ts


def cycle():
    return replace(
        opportunity("ETH-BTC", "okx", "okx", 0.3),
        type="triangular",
        exchange="okx",
        path=["USDT", "BTC", "ETH", "USDT"],
        leg_prices=[100.0, 0.05, 2000.0],
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["BTC-USDT", "ETH-BTC", "ETH-USDT"]),
        ("symbol=eth-usdt", ["ETH-USDT"]),
        ("symbol=BTC", ["BTC-USDT", "ETH-BTC"]),
        ("exchange=okx", ["BTC-USDT", "ETH-BTC"]),
        ("type=triangular", ["ETH-BTC"]),
        ("min_net_edge=0.45", ["BTC-USDT", "ETH-USDT"]),
        ("risk=flagged", ["ETH-USDT"]),
        ("risk=high_lag", ["ETH-USDT"]),
        ("type=spatial&exchange=kraken", ["ETH-USDT"]),
    ],
)
def test_current_opportunities_filter_like_the_live_feed(client_trader: APIClient, store, query, expected):
    publish(
        store,
        opportunity("BTC-USDT", "binance", "okx", 0.5),
        replace(opportunity("ETH-USDT", "kraken", "binance", 1.5), risk_flag="high_lag"),
        cycle(),
    )
    body = client_trader.get(f"/api/v1/opportunities/?{query}").json()
    assert sorted(item["symbol"] for item in body["items"]) == expected
    assert body["total"] == 3 and body["count"] == len(expected)


def test_only_the_newest_scan_counts(client_trader: APIClient, store):
    publish(store, opportunity("BTC-USDT"))
    ts = publish(store, opportunity("ETH-USDT"))
    body = client_trader.get("/api/v1/opportunities/").json()
    assert body["ts"] == ts and [item["symbol"] for item in body["items"]] == ["ETH-USDT"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("type=futures", "type"),
        ("min_net_edge=abc", "min_net_edge"),
        ("min_net_edge=nan", "min_net_edge"),
        ("symbol=BTC--USDT", "symbol"),
        ("exchange=NOT AN ID!", "exchange"),
        ("risk=maybe", "risk"),
    ],
)
def test_invalid_current_filters_are_400s_naming_the_filter(client_trader: APIClient, store, query, field):
    response = client_trader.get(f"/api/v1/opportunities/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_book_health_reports_each_book_and_each_enabled_exchange(client_trader: APIClient, store):
    now = now_ms()
    Exchange.objects.exclude(id__in=["binance", "okx", "kraken"]).update(enabled=False)
    store.write_books(
        [
            book("binance", "BTC-USDT", ts=now - 500),
            replace(book("binance", "ETH-USDT"), ts_event=now - 3000, ts_ingest=now - 100),
            book("okx", "BTC-USDT", ts=now - 60_000),
            book("okx", "ETH-USDT", healthy=False),
        ]
    )
    store.write_raw("okx|SOL-USDT", b"{not json")
    body = client_trader.get("/api/v1/books/health/").json()
    assert body["stale_after_sec"] == 10.0
    assert body["feed"] == {
        "last_scan_ts": None,
        "scan_interval_sec": 5.0,
        "degraded": False,
        "degraded_reason": "",
        "degraded_since": None,
    }
    states = {(b["exchange"], b["symbol"]): b["state"] for b in body["books"]}
    assert states == {
        ("binance", "BTC-USDT"): "fresh",
        ("binance", "ETH-USDT"): "fresh",
        ("okx", "BTC-USDT"): "stale",
        ("okx", "ETH-USDT"): "unhealthy",
    }
    lagging = next(b for b in body["books"] if b["symbol"] == "ETH-USDT" and b["exchange"] == "binance")
    assert lagging["lag_ms"] == 2900 and lagging["last_update"] == now - 100
    summary = {e["exchange"]: (e["fresh"], e["stale"], e["unhealthy"]) for e in body["exchanges"]}
    assert summary == {"binance": (2, 0, 0), "kraken": (0, 0, 0), "okx": (0, 1, 1)}
    assert [c["key"] for c in body["corrupt"]] == ["okx|SOL-USDT"]


def test_book_health_follows_the_configured_staleness_and_filters(client_trader: APIClient, store):
    ScannerSettings.objects.update_or_create(pk=1, defaults={"stale_after_sec": 120})
    store.write_books([book("okx", "BTC-USDT", ts=now_ms() - 60_000), book("binance", "ETH-USDT")])
    body = client_trader.get("/api/v1/books/health/?exchange=okx").json()
    assert [(b["exchange"], b["state"]) for b in body["books"]] == [("okx", "fresh")]
    assert [e["exchange"] for e in body["exchanges"]] == ["okx"]
    assert client_trader.get("/api/v1/books/health/?symbol=ETH&state=fresh").json()["books"][0]["exchange"] == "binance"
    assert client_trader.get("/api/v1/books/health/?state=stale").json()["books"] == []


def test_book_health_shows_when_the_last_scan_was_published(client_trader: APIClient, store):
    ts = publish(store, opportunity())
    assert client_trader.get("/api/v1/books/health/").json()["feed"]["last_scan_ts"] == ts


@pytest.mark.parametrize("query", ["state=rotten", "exchange=BAD ID", "symbol=%3F%3F"])
def test_invalid_health_filters_are_400s(client_trader: APIClient, store, query):
    response = client_trader.get(f"/api/v1/books/health/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [query.split("=")[0]]


def test_a_store_that_is_down_is_a_503_not_a_traceback(client_trader: APIClient, settings):
    from exchanges.store import reset_book_store

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    reset_book_store()
    try:
        for url in ("/api/v1/opportunities/", "/api/v1/books/health/"):
            response = client_trader.get(url)
            assert response.status_code == 503
            assert response.json()["detail"].startswith("The book store is unavailable")
    finally:
        reset_book_store()
