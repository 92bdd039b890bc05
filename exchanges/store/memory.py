"""The in-process book store of the embedded demo and of tests.

It keeps what Redis keeps (each book's canonical JSON under `exchange|symbol`, a capped
feed) and reads through the same decoder, so both stores behave alike: a reader always
gets its own copies (the simulated market thread can never change a book under the scan
thread) and a corrupt value is skipped and reported the same way.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from arbitrage.engine.book import OrderBookSnapshot

from .base import BookSlice
from .codec import book_field, decode_books, decode_messages, encode_message, unhealthy_json

logger = logging.getLogger(__name__)


class MemoryBookStore:
    def __init__(self, feed_maxlen: int = 1000) -> None:
        if feed_maxlen < 1:
            raise ValueError(f"feed_maxlen must be at least 1, got {feed_maxlen}")
        self._lock = threading.Lock()
        self._books: dict[str, bytes] = {}
        self._feed: deque[bytes] = deque(maxlen=feed_maxlen)

    def write_books(self, books: Iterable[OrderBookSnapshot]) -> int:
        encoded = [(book_field(book.exchange, book.symbol), book.to_json()) for book in books]
        with self._lock:
            self._books.update(encoded)
        return len(encoded)

    def write_raw(self, key: str, value: bytes | str) -> None:
        """Store a value as is: a test hook standing for a foreign writer of the Redis hash."""
        with self._lock:
            self._books[key] = value.encode() if isinstance(value, str) else value

    def mark_unhealthy(self, exchange: str, symbol: str, reason: str) -> bool:
        field = book_field(exchange, symbol)
        with self._lock:
            value = self._books.get(field)
            if value is None:
                return False
            self._books[field] = unhealthy_json(value)
        logger.info("book marked unhealthy", extra={"key": field, "reason": reason})
        return True

    def read_all(self) -> BookSlice:
        with self._lock:
            items = list(self._books.items())
        return decode_books(items)

    def delete_books(self, keys: Iterable[tuple[str, str]]) -> int:
        fields = [book_field(exchange, symbol) for exchange, symbol in keys]
        with self._lock:
            return sum(self._books.pop(field, None) is not None for field in fields)

    def clear(self) -> None:
        with self._lock:
            self._books.clear()

    def publish_feed(self, message: dict[str, Any]) -> None:
        payload = encode_message(message)
        with self._lock:
            self._feed.append(payload)

    def read_feed(self, count: int = 10) -> list[dict[str, Any]]:
        if count <= 0:
            return []
        with self._lock:
            newest = list(self._feed)[-count:]
        return decode_messages((f"memory-{i}", payload) for i, payload in enumerate(newest))

    def close(self) -> None:
        """Nothing to release; here so both stores can be closed alike."""
