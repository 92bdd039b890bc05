"""A Celery worker whose broker (Redis) restarts is consuming again within a second or so
of its return (kombu's own schedule waits 2, 4, 6... s between tries: up to 3 s more of
missed scans after a 5 s outage, as the soak measured)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

from tests import REPO
from tests.servers import RedisServer

pytestmark = pytest.mark.slow


def test_a_worker_consumes_again_within_a_second_of_the_brokers_return(
    throwaway_redis: RedisServer, tmp_path: Path
) -> None:
    url = throwaway_redis.url
    env = {**os.environ, "DEBUG": "1", "CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url, "REDIS_URL": url}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'unused.sqlite3'}"
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-l", "info",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    client = Celery(broker=url)
    worker_log = tmp_path / "worker.log"

    def consumed_within(timeout: float) -> float:
        """Send a task; seconds until the worker logs that it received it."""
        sent = time.monotonic()
        task_id = client.send_task("notifications.tasks.send_instant").id
        while time.monotonic() - sent < timeout:
            if f"[{task_id}] received" in worker_log.read_text(errors="replace"):
                return time.monotonic() - sent
            time.sleep(0.05)
        raise AssertionError(f"no task received in {timeout} s\n{worker_log.read_text()[-3000:]}")

    try:
        consumed_within(60)  # the worker is up
        throwaway_redis.stop()
        time.sleep(3)  # past kombu's first retry (2 s), before its next (6 s)
        throwaway_redis.start()
        took = consumed_within(30)
        assert took < 2.0, f"the worker took {took:.1f} s to consume again\n{worker_log.read_text()[-3000:]}"
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()
        client.close()
