"""Full mode, the real path: beat's task on a Celery worker (in-process) against the real
Redis broker scans books held in Redis and writes episodes to PostgreSQL."""

import time
from collections.abc import Iterator

import pytest

from arbitrage.models import Episode
from arbitrage.runtime.services import get_services, reset_services
from config.celery import app
from tests.conftest import in_process_worker
from tests.factories import book


@pytest.fixture
def redis_mode(settings, redis_url: str, redis_client) -> Iterator[None]:
    settings.REDIS_URL = redis_url
    reset_services()
    yield
    reset_services()


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.django_db(transaction=True)
def test_worker_scans_books_in_redis_and_audits_episodes_in_postgres(requires_postgres, redis_mode, redis_broker):
    get_services().store.write_books(
        [
            book("binance", "BTC-USDT", bid=99.9, ask=100.0),
            book("okx", "BTC-USDT", bid=101.0, ask=101.1),
        ]
    )
    with in_process_worker():
        app.send_task("arbitrage.tasks.scan")
        found = wait_for(lambda: Episode.objects.filter(buy_exchange="binance", sell_exchange="okx").exists())

    assert found, "the worker did not record the binance->okx episode"
    episode = Episode.objects.get(buy_exchange="binance", sell_exchange="okx")
    assert episode.is_open and episode.symbol == "BTC-USDT"
    assert episode.net_edge_pct > 0.5
    # The same scan was published to the feed stream in Redis.
    feed = get_services().feed.read(1)
    assert feed and feed[-1].items[0]["buy_exchange"] == "binance"
