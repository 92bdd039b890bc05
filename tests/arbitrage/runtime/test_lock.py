"""The ScanLock contract, run against both locks: in memory and on the real Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from arbitrage.runtime.lock import MemoryLease, RedisLease, ScanLock, scan_guard
from tests import REPO

# Two handles on one lock: in Redis, two processes (the fan-out and the merge of a sharded
# scan); in memory, two threads of one process.
Pair = tuple[ScanLock, ScanLock]


@pytest.fixture(params=["memory", "redis"])
def locks(request: pytest.FixtureRequest) -> Iterator[Pair]:
    if request.param == "memory":
        lock = MemoryLease()
        yield lock, lock
        return
    request.getfixturevalue("redis_client")
    url, key = request.getfixturevalue("redis_url"), f"lock-{uuid.uuid4().hex[:12]}"
    first, second = RedisLease(url, key), RedisLease(url, key)
    yield first, second
    first.close()
    second.close()


def test_a_hold_is_proved_and_freed_by_its_token_only(locks: Pair) -> None:
    fan_out_side, merge_side = locks
    assert not merge_side.locked()
    token = fan_out_side.acquire(30.0)
    assert token is not None and merge_side.locked()
    assert merge_side.acquire(30.0) is None, "a second scan waits for the merge"
    assert merge_side.held(token) and not merge_side.held("someone-else")
    merge_side.release("someone-else")  # not the holder: nothing happens
    assert merge_side.held(token)
    merge_side.release(token)
    assert not fan_out_side.held(token) and not fan_out_side.locked()
    assert fan_out_side.acquire(30.0) is not None


def test_a_hold_whose_holder_died_expires(locks: Pair) -> None:
    first, second = locks
    token = first.acquire(0.2)
    assert token is not None
    wait_until(lambda: not second.locked())
    assert not first.held(token)
    assert second.acquire(30.0) is not None


def test_the_guard_lets_one_scan_in_and_frees_the_lock_after(locks: Pair) -> None:
    first, second = locks
    with scan_guard(first) as one, scan_guard(second) as two:
        assert (one, two) == (True, False)
    assert not first.locked()


def wait_until(condition: Callable[[], bool], limit_sec: float = 5.0) -> None:
    deadline = time.monotonic() + limit_sec
    while not condition():
        assert time.monotonic() < deadline, "the hold never expired"
        time.sleep(0.02)


def test_a_running_scan_renews_its_lease_past_the_ttl(locks: Pair) -> None:
    first, second = locks
    with scan_guard(first, ttl_sec=0.3) as running:
        assert running
        time.sleep(1.0)  # three TTLs: only renewal keeps it
        assert second.locked() and second.acquire(30.0) is None
    assert not second.locked(), "freed as soon as the scan ends"


def test_a_lease_that_expired_is_not_renewed_nor_anyone_elses(locks: Pair) -> None:
    first, second = locks
    stale = first.acquire(0.2)
    assert stale is not None
    wait_until(lambda: not second.locked())
    newer = second.acquire(30.0)
    assert newer is not None
    assert first.renew(stale, 30.0) is False, "the dead holder's token renews nothing"
    assert second.held(newer) and second.renew(newer, 30.0)


SCANNER = """
import sys, time
import django
django.setup()
from arbitrage.runtime.config import scan_lease_sec
from arbitrage.runtime.lock import RedisLease, scan_guard
with scan_guard(RedisLease(sys.argv[1], sys.argv[2]), scan_lease_sec(float(sys.argv[3]))) as held:
    print("held" if held else "busy", flush=True)
    time.sleep(120)  # a scan that hangs, renewing its lease, until it is killed
"""


def test_a_scanner_killed_mid_scan_frees_the_lease_before_the_next_scan_is_due(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    interval = 1.5  # seconds between scans (the floor of a lease is one second)
    key = f"lock-{uuid.uuid4().hex[:12]}"
    scanner = subprocess.Popen(
        [sys.executable, "-c", SCANNER, redis_url, key, str(interval)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"},
    )
    try:
        assert scanner.stdout is not None and scanner.stdout.readline().strip() == "held"
        time.sleep(interval)  # renewed past its own TTL while it runs
        assert redis_client.exists(key)
    finally:
        scanner.send_signal(signal.SIGKILL)
        scanner.wait(10)
    assert 0 < redis_client.pttl(key) <= interval * 1000, "the dead scanner's lease runs out within one interval"
    survivor = RedisLease(redis_url, key)
    wait_until(lambda: survivor.acquire(30.0) is not None, limit_sec=interval * 2)
    survivor.close()
