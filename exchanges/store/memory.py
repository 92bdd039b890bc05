"""The in-process book store of the embedded demo and of tests.

It keeps what Redis keeps (each book's canonical JSON under `exchange|symbol`) and reads
through the same decoder, so both stores behave alike: a reader always
gets its own copies (the simulated market thread can never change a book under the scan
thread) and a corrupt value is skipped and reported the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from kernel.book import OrderBookSnapshot

from .base import BookSlice
from .codec import RawBooks, book_field, unhealthy_json

logger = logging.getLogger(__name__)


class MemoryBookStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._books: dict[str, bytes] = {}

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

    def mark_unhealthy_many(self, keys: Iterable[tuple[str, str]], reason: str) -> int:
        return sum(self.mark_unhealthy(exchange, symbol, reason) for exchange, symbol in keys)

    def read_all(self) -> BookSlice:
        return self.read_raw().decode_all()

    def read_raw(self) -> RawBooks:
        with self._lock:
            return RawBooks(dict(self._books))

    def delete_books(self, keys: Iterable[tuple[str, str]]) -> int:
        fields = [book_field(exchange, symbol) for exchange, symbol in keys]
        with self._lock:
            return sum(self._books.pop(field, None) is not None for field in fields)

    def clear(self) -> None:
        with self._lock:
            self._books.clear()

    def close(self) -> None:
        """Nothing to release; here so both stores can be closed alike."""
