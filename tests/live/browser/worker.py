"""The test as the Celery worker of full mode: it writes books into the Redis book store and
runs the real scan, which publishes to the stream and the Redis channel layer, from which
the API server subprocess feeds its WebSockets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from django.db import connection

from arbitrage.runtime.scan import ScanReport, run_scan
from arbitrage.runtime.services import Services, get_services, reset_services
from tests.factories import book, now_ms


@dataclass
class Worker:
    services: Services
    env: dict[str, str]  # what the server subprocess needs to meet this worker
    executor: ThreadPoolExecutor

    def write_edges(self) -> None:
        """Fresh books with a spatial edge on BTC-USDT (binance -> okx) and on ETH-USDT
        (kraken -> bitstamp), as connectors would keep writing them."""
        ts = now_ms()
        self.services.store.write_books(
            [
                book("binance", "BTC-USDT", bid=99.9, ask=100.0, ts=ts),
                book("okx", "BTC-USDT", bid=101.0, ask=101.1, ts=ts),
                book("kraken", "ETH-USDT", bid=1999.0, ask=2000.0, step=1.0, ts=ts),
                book("bitstamp", "ETH-USDT", bid=2030.0, ask=2031.0, step=1.0, ts=ts),
            ]
        )

    def scan(self) -> ScanReport:
        # In a thread of its own: Playwright's sync API keeps an event loop in this one,
        # and the scan's publish uses async_to_sync.
        return self.executor.submit(run_scan, services=self.services, persist=False).result()


@contextmanager
def private_redis_worker(settings: Any, redis_url: str) -> Iterator[Worker]:
    """Points this process at a private corner of the shared Redis (its own key prefix,
    stream and channel-layer prefix); `Worker.env` hands a server subprocess the same."""
    tag = uuid.uuid4().hex[:10]
    settings.REDIS_URL = redis_url
    settings.BOOK_KEY_PREFIX = f"browsertest:{tag}:book:"
    settings.FEED_STREAM = f"browsertest:{tag}:feed"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": f"browsertest:{tag}:asgi"},
        }
    }
    reset_services()
    services = get_services()
    executor = ThreadPoolExecutor(max_workers=1)
    env = {
        "REDIS_URL": redis_url,
        "BOOK_KEY_PREFIX": settings.BOOK_KEY_PREFIX,
        "FEED_STREAM": settings.FEED_STREAM,
        "TEST_CHANNEL_PREFIX": f"browsertest:{tag}:asgi",
    }
    try:
        yield Worker(services, env, executor)
    finally:
        services.store.clear()
        client = redis.Redis.from_url(redis_url)
        stale_keys = list(client.scan_iter(match=f"browsertest:{tag}:*"))
        if stale_keys:
            client.delete(*stale_keys)
        client.close()
        # Looked up in the worker thread: each thread has its own connection.
        executor.submit(lambda: connection.close()).result()
        executor.shutdown()
        reset_services()
