"""Fixtures for connector tests: a book store to write into.

The real MemoryBookStore is used when it exists; until it lands (it is being written in
parallel) a minimal dict-backed stand-in implements the part of the BookStore protocol
that connectors touch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import pytest

from arbitrage.engine.book import OrderBookSnapshot
from exchanges.store.base import BookSlice, BookStore


class DictBookStore:
    def __init__(self) -> None:
        self._books: dict[tuple[str, str], OrderBookSnapshot] = {}
        self._lock = threading.Lock()
        self.write_calls = 0

    def write_books(self, books: Iterable[OrderBookSnapshot]) -> int:
        with self._lock:
            self.write_calls += 1
            count = 0
            for book in books:
                self._books[book.key] = book
                count += 1
            return count

    def mark_unhealthy(self, exchange: str, symbol: str, reason: str) -> bool:
        with self._lock:
            book = self._books.get((exchange, symbol))
            if book is None:
                return False
            book.is_healthy = False
            return True

    def read_all(self) -> BookSlice:
        with self._lock:
            return BookSlice(books=list(self._books.values()))

    def delete_books(self, keys: Iterable[tuple[str, str]]) -> int:
        with self._lock:
            return sum(self._books.pop(key, None) is not None for key in keys)

    def clear(self) -> None:
        with self._lock:
            self._books.clear()

    def publish_feed(self, message: dict[str, Any]) -> None:
        raise NotImplementedError

    def read_feed(self, count: int = 10) -> list[dict[str, Any]]:
        raise NotImplementedError


def new_store() -> BookStore:
    try:
        from exchanges.store.memory import MemoryBookStore
    except ImportError:
        return DictBookStore()
    return MemoryBookStore()


@pytest.fixture
def store() -> BookStore:
    return new_store()
