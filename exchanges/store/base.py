"""The book store interface: where connectors write canonical books and the scan reads them.

Two implementations share one contract (tests/exchanges/store/test_contract.py):
`RedisBookStore` for full mode and `MemoryBookStore` for the embedded demo and tests.
A store keeps books and nothing else: the opportunity feed and the scan lock are the scan
runtime's (arbitrage.runtime.feed, arbitrage.runtime.lock).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from kernel.book import OrderBookSnapshot

if TYPE_CHECKING:
    from exchanges.store.codec import RawBooks

BookKey = tuple[str, str]  # (exchange, symbol)


class StoreUnavailable(RuntimeError):
    """The backing service (Redis) cannot be reached; the message names it. Callers retry."""


@dataclass(slots=True)
class CorruptBook:
    """A stored value that failed validation: skipped by the scan, counted and logged."""

    key: str
    error: str


@dataclass(slots=True)
class BookSlice:
    """Books read in one round trip (the scan's coherent slice), and the values that failed."""

    books: list[OrderBookSnapshot]
    corrupt: list[CorruptBook] = field(default_factory=list)


class BookStore(Protocol):
    def write_books(self, books: Iterable[OrderBookSnapshot]) -> int:
        """Store (replace) each book under its (exchange, symbol); return how many."""
        ...

    def mark_unhealthy(self, exchange: str, symbol: str, reason: str) -> bool:
        """Flag a stored book unhealthy at once (gap, bad checksum); False if absent."""
        ...

    def mark_unhealthy_many(self, keys: Iterable[BookKey], reason: str) -> int:
        """Flag many books unhealthy in one round trip (an ingest stopping); how many were
        there to flag."""
        ...

    def read_all(self) -> BookSlice:
        """All books, in one round trip; corrupt values are reported, never raised."""
        ...

    def read_raw(self) -> RawBooks:
        """All stored values, in one round trip, for a reader that decodes only some."""
        ...

    def delete_books(self, keys: Iterable[tuple[str, str]]) -> int: ...

    def clear(self) -> None:
        """Remove every book (tests, replays)."""
        ...

    def close(self) -> None:
        """Release connections (the next call reconnects)."""
        ...
