"""Small test doubles around a real store, and a bounded wait for async conditions."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable

from exchanges.store.base import BookSlice, BookStore
from exchanges.store.codec import RawBooks
from kernel.book import OrderBookSnapshot


def book(
    exchange: str = "binance", symbol: str = "BTC-USDT", seq: int = 1, price: float = 60_000.0
) -> OrderBookSnapshot:
    return OrderBookSnapshot(
        exchange=exchange,
        symbol=symbol,
        bids=[[price - 1, 1.0], [price - 2, 2.0]],
        asks=[[price + 1, 1.0], [price + 2, 2.0]],
        ts_event=1_750_000_000_000 + seq,
        ts_ingest=1_750_000_000_010 + seq,
        meta={"seq_id": seq, "checksum_ok": True},
    )


class RecordingStore:
    """Delegates to a real store; records each write's batch and can fail the first N."""

    def __init__(self, inner: BookStore, fail_writes: int = 0) -> None:
        self.inner = inner
        self.fail_writes = fail_writes
        self.batches: list[list[tuple[str, str]]] = []
        self.wrote = threading.Event()  # set after the first successful write

    def write_books(self, books: Iterable[OrderBookSnapshot]) -> int:
        if self.fail_writes > 0:
            self.fail_writes -= 1
            raise ConnectionError("redis is down")
        batch = list(books)
        self.batches.append([b.key for b in batch])
        written = self.inner.write_books(batch)
        self.wrote.set()
        return written

    def mark_unhealthy(self, exchange: str, symbol: str, reason: str) -> bool:
        return self.inner.mark_unhealthy(exchange, symbol, reason)

    def mark_unhealthy_many(self, keys: Iterable[tuple[str, str]], reason: str) -> int:
        return self.inner.mark_unhealthy_many(keys, reason)

    def read_all(self) -> BookSlice:
        return self.inner.read_all()

    def delete_books(self, keys: Iterable[tuple[str, str]]) -> int:
        return self.inner.delete_books(keys)

    def clear(self) -> None:
        self.inner.clear()

    def read_raw(self) -> RawBooks:
        return self.inner.read_raw()

    def close(self) -> None:
        self.inner.close()

    def books(self) -> dict[tuple[str, str], OrderBookSnapshot]:
        return {b.key: b for b in self.inner.read_all().books}


async def eventually(condition: Callable[[], bool], what: str, limit_sec: float = 20.0) -> None:
    """Wait until `condition()` holds. The limit only keeps a broken test from hanging."""
    deadline = time.monotonic() + limit_sec
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.005)
