import pytest
from django.test import Client

from arbitrage.runtime.scan import run_scan
from arbitrage.runtime.services import in_memory
from tests.factories import book

pytestmark = pytest.mark.django_db


def test_metrics_refuse_anonymous_with_a_json_401(client: Client):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert "METRICS_TOKEN" in response.json()["detail"]


def test_metrics_with_the_bearer_token_show_the_scan(client: Client, settings):
    settings.METRICS_TOKEN = "scrape-me"
    services = in_memory()
    services.store.write_books([book("binance", bid=99.9, ask=100.0), book("okx", bid=101.0, ask=101.1)])
    run_scan(services=services)
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    body = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").content.decode()
    assert 'opportunities_detected_total{type="spatial"}' in body
    assert "scan_duration_seconds_count" in body
    assert "net_edge_distribution_bucket" in body
    assert 'books{exchange="okx",state="used"} 1.0' in body


def test_metrics_for_a_staff_session(admin_client: Client):
    assert admin_client.get("/metrics").status_code == 200


def test_an_exchange_gone_from_the_slice_reads_zero_books(client: Client, settings):
    settings.METRICS_TOKEN = "scrape-me"
    services = in_memory()
    services.store.write_books([book("binance", bid=99.9, ask=100.0), book("kraken", bid=101.0, ask=101.1)])
    run_scan(services=services)
    services = in_memory()
    services.store.write_books([book("binance", bid=99.9, ask=100.0)])
    run_scan(services=services)
    body = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").content.decode()
    assert 'books{exchange="kraken",state="used"} 0.0' in body
    assert 'books{exchange="binance",state="used"} 1.0' in body
