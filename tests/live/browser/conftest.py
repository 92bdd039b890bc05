from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live.browser.worker import Worker, private_redis_worker


@pytest.fixture
def worker(settings, redis_url: str) -> Iterator[Worker]:
    with private_redis_worker(settings, redis_url) as the_worker:
        yield the_worker
