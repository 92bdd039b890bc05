"""Leases: one scan at a time (and one beat scheduler) across every process that shares
the store.

A lease is a token with a time to live, shorter than one scan interval. Whoever holds the
token may renew, check and free it (a sharded scan takes it in the process that fans out,
its shards renew it, the merge frees it); a holder that dies stops renewing, so the lease
is gone within one TTL and the next scan runs on time. `scan_guard` renews the lease from
a thread of its own while the scan it guards runs.

Two implementations share one contract (tests/arbitrage/runtime/test_lock.py):
`RedisLease` (every process on one Redis) and `MemoryLease` (the threads of one process:
the demo).
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

from redis.exceptions import LockNotOwnedError, RedisError
from redis.lock import Lock

from exchanges.store.base import StoreUnavailable
from exchanges.store.redis_store import redis_client, talking_to
from kernel.text import redact_url

logger = logging.getLogger(__name__)


class Lease(Protocol):
    def acquire(self, ttl_sec: float) -> str | None:
        """A token for a new lease of `ttl_sec`, or None while another lease is on. Raises
        StoreUnavailable when the lease's service cannot be reached."""
        ...

    def renew(self, token: str, ttl_sec: float) -> bool:
        """Extend the lease of `token` to `ttl_sec` from now; False when it is no longer
        held (it expired, perhaps taken since). Raises StoreUnavailable."""
        ...

    def held(self, token: str) -> bool:
        """Whether the lease of `token` is still on (not expired, not freed). Raises
        StoreUnavailable."""
        ...

    def release(self, token: str) -> None:
        """Free the lease of `token`; a lease that expired (perhaps taken since by another
        holder) or a service that cannot be reached is left alone."""
        ...

    def locked(self) -> bool:
        """Whether any lease is on now. Raises StoreUnavailable."""
        ...

    def close(self) -> None: ...


ScanLock = Lease  # the lease one scan at a time holds


class MemoryLease:
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

    def renew(self, token: str, ttl_sec: float) -> bool:
        with self._guard:
            now = self._clock()
            if token != self._token or now >= self._until:
                return False
            self._until = now + ttl_sec
            return True

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
        """Nothing to release; here so both leases can be closed alike."""


class RedisLease:
    def __init__(self, url: str, key: str = "scan-lock") -> None:
        self.url = redact_url(url)
        self.key = key
        self._client = redis_client(url, client_name="arbscan-lease")

    def __repr__(self) -> str:
        return f"RedisLease({self.url!r}, key={self.key!r})"

    def _lock(self, ttl_sec: float, token: str | None = None) -> Lock:
        lock = self._client.lock(self.key, timeout=ttl_sec)
        if token is not None:
            lock.local.token = token.encode()  # what acquire() stores: the lease is ours to use
        return lock

    def acquire(self, ttl_sec: float) -> str | None:
        token = uuid.uuid4().hex
        with talking_to(self.url, f"take the lease {self.key}"):
            acquired = self._lock(ttl_sec).acquire(blocking=False, token=token)
        return token if acquired else None

    def renew(self, token: str, ttl_sec: float) -> bool:
        with talking_to(self.url, f"renew the lease {self.key}"):
            try:
                return bool(self._lock(ttl_sec, token).extend(ttl_sec, replace_ttl=True))
            except LockNotOwnedError:  # expired, perhaps taken since
                return False

    def held(self, token: str) -> bool:
        with talking_to(self.url, f"check the lease {self.key}"):
            return bool(self._lock(1.0, token).owned())  # the TTL only matters to acquire()

    def release(self, token: str) -> None:
        with contextlib.suppress(RedisError):  # LockNotOwnedError included
            self._lock(1.0, token).release()

    def locked(self) -> bool:
        with talking_to(self.url, f"check the lease {self.key}"):
            return bool(self._lock(1.0).locked())

    def close(self) -> None:
        self._client.close()


class Renewer:
    """Renews a lease from a thread of its own every third of its TTL until stopped. A
    renewal that finds the lease gone (or its service down) is logged; the holder's work
    goes on, and a newer holder's lease is never touched."""

    def __init__(self, lease: Lease, token: str, ttl_sec: float) -> None:
        self._lease, self._token, self._ttl = lease, token, ttl_sec
        self._stop = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._run, name="lease-renewer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._ttl / 3.0):
            try:
                if not self._lease.renew(self._token, self._ttl):
                    self.lost = True
                    logger.warning("lease lost while its holder was still working", extra={"ttl_sec": self._ttl})
                    return
            except StoreUnavailable as exc:
                logger.warning("lease not renewed: its service is unavailable", extra={"error": str(exc)})

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def scan_guard(lock: Lease, ttl_sec: float = 10.0) -> Iterator[bool]:
    """Yields True when this caller may scan now, False when a scan is already running
    (here or, with Redis, in any worker): an overrunning scan never piles up behind
    itself. The lease is renewed while the scan runs and freed after it. While the lease's
    service cannot be reached the scan runs and reports the outage itself."""
    try:
        token = lock.acquire(ttl_sec)
    except StoreUnavailable as exc:
        # The scan will find the same outage and report it; one warning is enough.
        logger.debug("scan lock unavailable; scanning without it", extra={"error": str(exc)})
        yield True
        return
    if token is None:
        yield False
        return
    renewer = Renewer(lock, token, ttl_sec)
    try:
        yield True
    finally:
        renewer.stop()
        lock.release(token)
