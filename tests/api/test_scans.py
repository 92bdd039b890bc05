"""/api/v1/scans/: every scan the audit recorded, newest first, filterable; and book health
says when the last scan was degraded (the dashboard shows it)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from arbitrage.runtime.scan import run_scan
from tests.factories import book, now_ms

pytestmark = pytest.mark.django_db


def test_scans_are_listed_newest_first_and_filtered(client_trader: APIClient, store) -> None:  # type: ignore[no-untyped-def]
    t0 = now_ms()
    store.write_books([book("binance", ts=t0), book("okx", ts=t0)])
    run_scan(now_ms=t0)
    run_scan(now_ms=t0 + 60_000)  # the books are stale by then: degraded
    body = client_trader.get("/api/v1/scans/").json()
    assert [scan["id"] for scan in body["results"]] == [t0 + 60_000, t0]
    newest = body["results"][0]
    assert newest["degraded"] and newest["books_stale"] == 2 and newest["gap_before_ms"] == 60_000
    degraded = client_trader.get("/api/v1/scans/?degraded=true").json()["results"]
    assert [scan["id"] for scan in degraded] == [t0 + 60_000]
    assert client_trader.get("/api/v1/scans/?degraded=maybe").status_code == 400
    assert client_trader.get(f"/api/v1/scans/{t0}/").json()["books_used"] == 2


def test_book_health_says_the_last_scan_was_degraded(client_trader: APIClient, store) -> None:  # type: ignore[no-untyped-def]
    run_scan()
    feed = client_trader.get("/api/v1/books/health/").json()["feed"]
    assert feed["degraded"] and feed["degraded_reason"] == "no book in the store: is ingest running?"
    store.write_books([book("binance"), book("okx")])
    run_scan()
    feed = client_trader.get("/api/v1/books/health/").json()["feed"]
    assert not feed["degraded"] and feed["degraded_since"] is None
