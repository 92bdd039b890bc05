"""The book store: connectors write canonical books into it, the scan reads them all at once.

`get_book_store()` picks the implementation from the settings at call time: with an empty
REDIS_URL (the embedded demo) every caller of the process shares one `MemoryBookStore`,
so the simulated market thread and the scan thread meet; otherwise a `RedisBookStore`.
"""

from __future__ import annotations

import threading

from .base import BookSlice, BookStore, CorruptBook, StoreUnavailable
from .codec import RawBooks
from .memory import MemoryBookStore
from .redis_store import RedisBookStore

__all__ = [
    "BookSlice",
    "BookStore",
    "CorruptBook",
    "MemoryBookStore",
    "RawBooks",
    "RedisBookStore",
    "StoreUnavailable",
    "get_book_store",
    "reset_book_store",
]

_lock = threading.Lock()
_memory_store: MemoryBookStore | None = None
# One store (and its connection pool) per configuration: tests may switch settings.
_redis_stores: dict[tuple[str, str], RedisBookStore] = {}


def get_book_store() -> BookStore:
    global _memory_store
    from django.conf import settings

    with _lock:
        if not settings.REDIS_URL:
            if _memory_store is None:
                _memory_store = MemoryBookStore()
            return _memory_store
        config = (settings.REDIS_URL, settings.BOOK_KEY_PREFIX)
        store = _redis_stores.get(config)
        if store is None:
            store = _redis_stores[config] = RedisBookStore(*config)
        return store


def reset_book_store() -> None:
    """Forget the shared stores (closing Redis connections): the next call builds anew."""
    global _memory_store
    with _lock:
        stores = list(_redis_stores.values())
        _redis_stores.clear()
        _memory_store = None
    for store in stores:
        store.close()
