"""The services a scan runs against, chosen from the settings in one place.

Full mode (REDIS_URL set): the Redis book store, the Redis stream feed, the Redis scan
lease and the Redis audit log, shared by every process on that Redis. Embedded mode: one
in-memory store, feed, lease and audit log for the whole process (the demo's market
thread, scan timer and web server meet there). `shared` says which: only a shared store
lets Celery split a scan across workers.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

from arbitrage.runtime.audit_log import AuditLog, MemoryAuditLog, RedisAuditLog
from arbitrage.runtime.feed import MemoryScanFeed, RedisScanFeed, ScanFeed
from arbitrage.runtime.lock import Lease, MemoryLease, RedisLease, ScanLock
from exchanges.store import BookStore, MemoryBookStore, RedisBookStore, get_book_store, reset_book_store


@dataclass(frozen=True, slots=True)
class Services:
    store: BookStore
    feed: ScanFeed
    lock: ScanLock
    audit: AuditLog
    leader: Lease  # held by the one beat scheduler that sends tasks
    shared: bool  # visible to every process (Redis), not only this one


def in_memory(store: BookStore | None = None, *, feed_maxlen: int = 1000) -> Services:
    """Services of one process (the embedded demo, tests)."""
    return Services(
        store or MemoryBookStore(),
        MemoryScanFeed(feed_maxlen),
        MemoryLease(),
        MemoryAuditLog(),
        MemoryLease(),
        shared=False,
    )


def on_redis(
    url: str,
    *,
    key_prefix: str = "book:",
    feed_stream: str = "opportunities_feed",
    feed_maxlen: int = 1000,
    store: BookStore | None = None,
) -> Services:
    """Services every process on the Redis at `url` shares; names from the settings."""
    return Services(
        store or RedisBookStore(url, key_prefix),
        RedisScanFeed(url, feed_stream, feed_maxlen),
        RedisLease(url, f"{key_prefix}scan-lock"),
        RedisAuditLog(url, f"{key_prefix}audit"),
        RedisLease(url, f"{key_prefix}beat-leader"),
        shared=True,
    )


_guard = threading.Lock()
_cache: dict[tuple[str, str, str, int], Services] = {}


def get_services() -> Services:
    """The process's services for the settings of this moment (tests switch them)."""
    from django.conf import settings

    config = (settings.REDIS_URL, settings.BOOK_KEY_PREFIX, settings.FEED_STREAM, settings.FEED_MAXLEN)
    store = get_book_store()  # shared with ingest and the demo's market thread
    with _guard:
        cached = _cache.get(config)
        if cached is None or cached.store is not store:
            if cached is None and settings.REDIS_URL:
                url, prefix, stream, maxlen = config
                cached = on_redis(url, key_prefix=prefix, feed_stream=stream, feed_maxlen=maxlen, store=store)
            elif cached is None:
                cached = in_memory(store, feed_maxlen=settings.FEED_MAXLEN)
            else:  # the store was reset: keep the rest
                cached = dataclasses.replace(cached, store=store)
            _cache[config] = cached
        return cached


def reset_services() -> None:
    """Forget every store, feed and lock (closing Redis connections): the next call builds
    anew from the settings of that moment."""
    with _guard:
        cached = list(_cache.values())
        _cache.clear()
    for services in cached:
        services.feed.close()
        services.lock.close()
        services.audit.close()
        services.leader.close()
    reset_book_store()
