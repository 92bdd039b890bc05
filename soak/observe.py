"""What the soak watches while the stack runs, each from outside the product: the books in
Redis (is any healthy but frozen?), the feed stream (every scan as published), 100
WebSocket clients (what each one got) and each process's memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import redis

from exchanges.store.base import StoreUnavailable
from exchanges.store.redis_store import RedisBookStore
from kernel.book import OrderBookSnapshot
from soak.stack import Stack

logger = logging.getLogger("soak")


def _fingerprint(book: OrderBookSnapshot) -> tuple[Any, ...]:
    return (book.ts_event, tuple(map(tuple, book.bids[:5])), tuple(map(tuple, book.asks[:5])))


@dataclass
class FrozenBooks:
    """How long each book stayed marked healthy without changing. Every book of the soak's
    market changes several times a second, so this is how long a frozen book passed as
    healthy. Sampled four times a second: figures are good to about 0.25 s."""

    redis_url: str
    period: float = 0.25
    longest: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    longest_open: dict[tuple[str, str], float] = field(default_factory=dict)  # the stretch under way
    _seen: dict[tuple[str, str], tuple[tuple[Any, ...], float]] = field(default_factory=dict)
    samples: int = 0
    unreadable: int = 0
    # Stretches over `note_after` seconds: (exchange/symbol, from, to) in wall time, to match with logs.
    stretches: list[tuple[str, float, float]] = field(default_factory=list)
    note_after: float = 2.0

    def worst(self) -> tuple[tuple[str, str] | None, float]:
        if not self.longest:
            return None, 0.0
        key = max(self.longest, key=lambda k: self.longest[k])
        return key, self.longest[key]

    def observe(self, books: list[OrderBookSnapshot], now: float) -> None:
        for book in books:
            fingerprint = _fingerprint(book)
            seen = self._seen.get(book.key)
            if seen is None or seen[0] != fingerprint or not book.is_healthy:
                # Changed (or marked): a healthy book is measured from its last change.
                if seen is not None and self.longest_open.pop(book.key, 0.0) > self.note_after:
                    self.stretches.append(("/".join(book.key), seen[1], now))
                    logger.warning("book %s stayed healthy and unchanged for %.1f s", "/".join(book.key), now - seen[1])
                self._seen[book.key] = (fingerprint, now)
                continue
            self.longest[book.key] = max(self.longest[book.key], now - seen[1])
            self.longest_open[book.key] = now - seen[1]

    async def run(self) -> None:
        store = RedisBookStore(self.redis_url, client_name="soak-watcher", socket_timeout=2.0)
        while True:
            try:
                books = (await asyncio.to_thread(store.read_all)).books
            except StoreUnavailable:
                self.unreadable += 1
                self._seen.clear()  # Redis restarts empty: the books start over
            else:
                self.observe(books, time.time())
                self.samples += 1
            await asyncio.sleep(self.period)


@dataclass
class FeedLog:
    """Every scan message published, read from the feed stream (it is capped, and lost on a
    Redis restart, so it is read often and kept here)."""

    redis_url: str
    stream: str = "opportunities_feed"
    scans: dict[int, frozenset[str]] = field(default_factory=dict)  # ts -> episode keys

    async def run(self) -> None:
        client = redis.Redis.from_url(self.redis_url, socket_timeout=2.0)
        last = "0-0"
        while True:
            try:
                entries: list[tuple[bytes, dict[bytes, bytes]]] = await asyncio.to_thread(
                    client.xrange,  # type: ignore[arg-type]
                    self.stream,
                    f"({last}",
                    "+",
                    500,
                )
            except redis.RedisError:
                last = "0-0"  # after a restart the stream starts again
                await asyncio.sleep(1)
                continue
            for entry_id, fields in entries:
                last = entry_id.decode()
                message = orjson.loads(fields[b"data"])
                self.scans[message["ts"]] = frozenset(episode_key(item) for item in message["items"])
            await asyncio.sleep(0.5 if len(entries) < 500 else 0)


def episode_key(item: dict[str, Any]) -> str:
    """The audit's identity of an opportunity (arbitrage.engine.types.Opportunity.episode_key)."""
    if item["type"] == "triangular":
        return f"triangular|{item['exchange']}|{'>'.join(item.get('path') or [])}"
    return f"spatial|{item['symbol']}|{item['buy_exchange']}|{item['sell_exchange']}"


@dataclass
class Client:
    """One dashboard-like WebSocket client: it reconnects when dropped, as the page does."""

    index: int
    received: set[int] = field(default_factory=set)
    windows: list[list[float]] = field(default_factory=list)  # [connected, disconnected or now]
    drops: int = 0


@dataclass
class WebSocketClients:
    url: str
    token: str
    count: int = 100
    clients: list[Client] = field(default_factory=list)

    async def run(self) -> None:
        self.clients = [Client(i) for i in range(self.count)]
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(self._client(session, c) for c in self.clients))

    async def _client(self, session: aiohttp.ClientSession, client: Client) -> None:
        await asyncio.sleep(client.index * 0.02)  # not all in one instant
        while True:
            window: list[float] | None = None
            with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                async with session.ws_connect(f"{self.url}?token={self.token}", heartbeat=20) as ws:
                    window = [time.time(), time.time()]
                    client.windows.append(window)
                    async for frame in ws:
                        window[1] = time.time()
                        if frame.type != aiohttp.WSMsgType.TEXT:
                            break
                        message = orjson.loads(frame.data)
                        if message.get("type") == "opportunities":
                            client.received.add(message["ts"])
            if window is not None:
                window[1] = time.time()
                client.drops += 1
            await asyncio.sleep(1.0)


@dataclass
class Memory:
    """Resident memory of each service's process group, every `period` seconds."""

    stack: Stack
    period: float = 15.0
    samples: list[tuple[float, dict[str, int], dict[str, int]]] = field(default_factory=list)  # (t, rss, starts)

    async def run(self) -> None:
        while True:
            rss = await asyncio.to_thread(self.stack.rss_kb)
            starts = {name: service.starts for name, service in self.stack.services.items()}
            self.samples.append((time.time(), rss, starts))
            await asyncio.sleep(self.period)
