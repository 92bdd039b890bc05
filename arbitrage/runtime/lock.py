"""The scan lock: one scan at a time, across every process that shares the book store.

A hold is a token with a time to live: whoever holds the token may check and free the
hold (a sharded scan takes it in the process that fans out and frees it in the one that
merges), and a holder that dies never blocks the scans after it for longer than the TTL.

Two locks share one contract (tests/arbitrage/runtime/test_lock.py): `RedisScanLock`
(every worker on one Redis) and `MemoryScanLock` (the threads of one process: the demo).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from redis.exceptions import RedisError
from redis.lock import Lock

from exchanges.store.base import StoreUnavailable
from exchanges.store.redis_store import redis_client, talking_to
from kernel.text import redact_url

logger = logging.getLogger(__name__)


class ScanLock(Protocol):
    def acquire(self, ttl_sec: float) -> str | None:
        """A token for a new hold of `ttl_sec`, or None while another hold is on. Raises
        StoreUnavailable when the lock's service cannot be reached."""
        ...

    def held(self, token: str) -> bool:
        """Whether the hold of `token` is still on (not expired, not freed). Raises
        StoreUnavailable."""
        ...

    def release(self, token: str) -> None:
        """Free the hold of `token`; a hold that expired (perhaps taken since by another
        scan) or a lock that cannot be reached is left alone."""
        ...

    def locked(self) -> bool:
        """Whether any hold is on now (a scan is running). Raises StoreUnavailable."""
        ...

    def close(self) -> None: ...


class MemoryScanLock:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._guard = threading.Lock()
        self._token: str | None = None
        self._until = 0.0

    def acquire(self, ttl_sec: float) -> str | None:
        with self._guard:
            now = self._clock()
            if self._token is not None and now < self._until:
                return None
            self._token, self._until = uuid.uuid4().hex, now + ttl_sec
            return self._token

    def held(self, token: str) -> bool:
        with self._guard:
            return token == self._token and self._clock() < self._until

    def release(self, token: str) -> None:
        with self._guard:
            if token == self._token:
                self._token = None

    def locked(self) -> bool:
        with self._guard:
            return self._token is not None and self._clock() < self._until

    def close(self) -> None:
        """Nothing to release; here so both locks can be closed alike."""


class RedisScanLock:
    def __init__(self, url: str, key: str = "scan-lock") -> None:
        self.url = redact_url(url)
        self.key = key
        self._client = redis_client(url, client_name="arbscan-lock")

    def __repr__(self) -> str:
        return f"RedisScanLock({self.url!r}, key={self.key!r})"

    def _lock(self, ttl_sec: float, token: str | None = None) -> Lock:
        lock = self._client.lock(self.key, timeout=ttl_sec)
        if token is not None:
            lock.local.token = token.encode()  # what acquire() stores: the hold is ours to check or free
        return lock

    def acquire(self, ttl_sec: float) -> str | None:
        token = uuid.uuid4().hex
        with talking_to(self.url, "take the scan lock"):
            acquired = self._lock(ttl_sec).acquire(blocking=False, token=token)
        return token if acquired else None

    def held(self, token: str) -> bool:
        with talking_to(self.url, "check the scan lock"):
            return bool(self._lock(1.0, token).owned())  # the TTL only matters to acquire()

    def release(self, token: str) -> None:
        with contextlib.suppress(RedisError):  # LockNotOwnedError included
            self._lock(1.0, token).release()

    def locked(self) -> bool:
        with talking_to(self.url, "check the scan lock"):
            return bool(self._lock(1.0).locked())

    def close(self) -> None:
        self._client.close()


@contextmanager
def scan_guard(lock: ScanLock, ttl_sec: float = 60.0) -> Iterator[bool]:
    """Yields True when this caller may scan now, False when a scan is already running
    (here or, with Redis, in any worker): an overrunning scan never piles up behind
    itself. While the lock cannot be reached the scan runs and reports the outage itself."""
    try:
        token = lock.acquire(ttl_sec)
    except StoreUnavailable as exc:
        # The scan will find the same outage and report it; one warning is enough.
        logger.debug("scan lock unavailable; scanning without it", extra={"error": str(exc)})
        yield True
        return
    try:
        yield token is not None
    finally:
        if token is not None:
            lock.release(token)
