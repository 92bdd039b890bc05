"""The book store interface: where connectors write canonical books and the scan reads them.

Two implementations share one contract (tests/exchanges/store/test_contract.py):
`RedisBookStore` for full mode and `MemoryBookStore` for the embedded demo and tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from arbitrage.engine.book import OrderBookSnapshot


class StoreUnavailable(RuntimeError):
    """The backing service (Redis) cannot be reached; the message names it. Callers retry."""


@dataclass(slots=True)
class CorruptBook:
    """A stored value that failed validation: skipped by the scan, counted and logged."""

    key: str
    error: str


@dataclass(slots=True)
class BookSlice:
    """Every book in the store, read in one round trip (the scan's coherent slice)."""

    books: list[OrderBookSnapshot]
    corrupt: list[CorruptBook] = field(default_factory=list)


class BookStore(Protocol):
    def write_books(self, books: Iterable[OrderBookSnapshot]) -> int:
        """Store (replace) each book under its (exchange, symbol); return how many."""
        ...

    def mark_unhealthy(self, exchange: str, symbol: str, reason: str) -> bool:
        """Flag a stored book unhealthy at once (gap, bad checksum); False if absent."""
        ...

    def read_all(self) -> BookSlice:
        """All books, in one round trip; corrupt values are reported, never raised."""
        ...

    def delete_books(self, keys: Iterable[tuple[str, str]]) -> int: ...

    def clear(self) -> None:
        """Remove every book (tests, replays)."""
        ...

    # The opportunities feed: a capped stream of scan results.
    def publish_feed(self, message: dict[str, Any]) -> None: ...

    def read_feed(self, count: int = 10) -> list[dict[str, Any]]:
        """The newest `count` feed messages, oldest first."""
        ...
