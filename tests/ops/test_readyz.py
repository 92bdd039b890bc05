"""/readyz: ready only when the database and Redis answer and a recent scan could use
enough books; each failing check says why."""

from __future__ import annotations

import pytest
from django.test import Client

from arbitrage.runtime.scan import run_scan
from arbitrage.runtime.services import get_services, reset_services
from tests.factories import book, now_ms

pytestmark = pytest.mark.django_db


@pytest.fixture
def services(settings):  # type: ignore[no-untyped-def]
    settings.REDIS_URL = ""
    settings.METRICS_TOKEN = "scrape-me"
    reset_services()
    yield get_services()
    reset_services()


def ready(client: Client) -> tuple[int, dict]:
    response = client.get("/readyz", HTTP_AUTHORIZATION="Bearer scrape-me")
    return response.status_code, response.json()


def test_readyz_needs_credentials(client: Client, services) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/readyz").status_code == 401


def test_not_ready_before_the_first_scan_then_ready_then_degraded(client: Client, services) -> None:  # type: ignore[no-untyped-def]
    code, body = ready(client)
    assert code == 503 and body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] and "worker" in body["checks"]["scan"]["detail"]

    services.store.write_books([book("binance"), book("okx")])
    run_scan(services=services)
    code, body = ready(client)
    assert code == 200 and body["checks"]["books"]["detail"] == "2 of 2 books used"

    services.store.write_books([book("binance", ts=now_ms() - 60_000), book("okx", ts=now_ms() - 60_000)])
    run_scan(services=services)
    code, body = ready(client)
    assert code == 503 and body["checks"]["books"]["detail"].startswith("degraded: no usable book of 2")


def test_an_old_last_scan_is_not_ready(client: Client, services) -> None:  # type: ignore[no-untyped-def]
    services.store.write_books([book("binance", ts=now_ms() - 60_000), book("okx", ts=now_ms() - 60_000)])
    run_scan(services=services, now_ms=now_ms() - 60_000)
    code, body = ready(client)
    assert code == 503 and "the last scan was 60" in body["checks"]["scan"]["detail"]
