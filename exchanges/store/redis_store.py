"""The Redis book store of full mode.

Layout (db and names from settings: REDIS_URL, BOOK_KEY_PREFIX, FEED_STREAM, FEED_MAXLEN):
- `{prefix}books`: ONE hash, field `exchange|symbol`, value the book's canonical JSON.
  A scan reads every book with one HGETALL: one round trip, one consistent instant.
  Writes are HSETs of up to `WRITE_CHUNK` books, sent in one MULTI/EXEC pipeline, so a
  batch lands whole between two scans.
- the feed: a stream, `XADD MAXLEN ~ FEED_MAXLEN`, each entry one field `data` holding
  the message's JSON.

Health lives inside the book's JSON, not beside it: `mark_unhealthy` rewrites the stored
`is_healthy` in a Lua script (atomic: no write can slip between the read and the rewrite)
so the value stays the whole truth about the book for every reader, the read stays a
single HGETALL, and a later write of a fresh snapshot heals the book with no flag to
clear. A separate health hash would need a transaction on every read and a cleanup on
every write to say the same thing.

Every Redis failure surfaces as `StoreUnavailable` naming the URL (password masked), which
the scan runtime logs before retrying at its next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.lock import Lock
from redis.retry import Retry

from arbitrage.engine.book import OrderBookSnapshot

from .base import BookSlice, StoreUnavailable
from .codec import book_field, decode_books, decode_messages, encode_message

logger = logging.getLogger(__name__)

WRITE_CHUNK = 500  # books per HSET: bounds one command's size (~0.5 MB) and its latency
FEED_FIELD = b"data"

# KEYS[1]: the books hash; ARGV[1]: the field. Returns 0 when the book is absent, else 1.
_MARK_UNHEALTHY = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  return 0
end
local ok, book = pcall(cjson.decode, raw)
if not ok or type(book) ~= 'table' or book['is_healthy'] == false then
  -- already unhealthy, or corrupt: every read skips and reports a corrupt value anyway
  return 1
end
-- Edit the text: cjson.encode would round prices to 14 significant digits. In a value
-- written by write_books (orjson, canonical field order) the first '"is_healthy":true'
-- is the top-level one: only strings and number arrays come before it.
local flagged = nil
local at = string.find(raw, '"is_healthy":true', 1, true)
if at then
  flagged = string.sub(raw, 1, at - 1) .. '"is_healthy":false' .. string.sub(raw, at + 17)
  local parsed, check = pcall(cjson.decode, flagged)
  if not parsed or check['is_healthy'] ~= false then
    flagged = nil
  end
end
if not flagged then
  -- any other layout: append the key; JSON readers (orjson included) keep the last one
  flagged = string.gsub(raw, '}%s*$', ',"is_healthy":false}', 1)
end
redis.call('HSET', KEYS[1], ARGV[1], flagged)
return 1
"""


def redact_url(url: str) -> str:
    """The URL with its password masked, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


class RedisBookStore:
    def __init__(
        self,
        url: str,
        key_prefix: str = "book:",
        feed_stream: str = "opportunities_feed",
        feed_maxlen: int = 1000,
        *,
        client_name: str | None = "arbscan-books",
        socket_timeout: float = 10.0,
    ) -> None:
        if feed_maxlen < 1:
            raise ValueError(f"feed_maxlen must be at least 1, got {feed_maxlen}")
        self.url = redact_url(url)
        self.books_key = f"{key_prefix}books"
        self.feed_stream = feed_stream
        self.feed_maxlen = feed_maxlen
        self._client = redis.Redis.from_url(
            url,
            client_name=client_name,
            socket_connect_timeout=2.0,
            socket_timeout=socket_timeout,
            # One quick retry covers a pooled connection that a Redis restart closed; a
            # server that is really gone fails fast, and the scan retries at its next tick.
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
        )
        self._mark = self._client.register_script(_MARK_UNHEALTHY)

    def scan_lock(self, timeout_sec: float) -> Lock:
        """A lock shared by every worker on this Redis, so scans never overlap; it expires
        after `timeout_sec` in case its holder dies."""
        return self._client.lock(f"{self.books_key}:scan-lock", timeout=timeout_sec)

    def __repr__(self) -> str:
        return f"RedisBookStore({self.url!r}, books={self.books_key!r}, feed={self.feed_stream!r})"

    @contextmanager
    def _talking(self, action: str) -> Iterator[None]:
        try:
            yield
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.url} failed to {action}: {exc}") from exc

    def write_books(self, books: Iterable[OrderBookSnapshot]) -> int:
        encoded = [(book_field(book.exchange, book.symbol), book.to_json()) for book in books]
        if not encoded:
            return 0
        with self._talking("write books"):
            pipe = self._client.pipeline(transaction=True)
            for start in range(0, len(encoded), WRITE_CHUNK):
                pipe.hset(self.books_key, mapping=dict(encoded[start : start + WRITE_CHUNK]))
            pipe.execute()
        return len(encoded)

    def mark_unhealthy(self, exchange: str, symbol: str, reason: str) -> bool:
        field = book_field(exchange, symbol)
        with self._talking("mark a book unhealthy"):
            found = bool(self._mark(keys=[self.books_key], args=[field]))
        if found:
            logger.info("book marked unhealthy", extra={"key": field, "reason": reason})
        return found

    def fetch_all(self) -> dict[bytes | str, bytes | str]:
        """Every stored value as it is, field -> JSON: one HGETALL, one round trip."""
        with self._talking("read books"):
            return self._client.hgetall(self.books_key)

    def read_all(self) -> BookSlice:
        return decode_books(self.fetch_all().items())

    def delete_books(self, keys: Iterable[tuple[str, str]]) -> int:
        fields = [book_field(exchange, symbol) for exchange, symbol in keys]
        if not fields:
            return 0
        with self._talking("delete books"):
            pipe = self._client.pipeline(transaction=True)
            for start in range(0, len(fields), WRITE_CHUNK):
                pipe.hdel(self.books_key, *fields[start : start + WRITE_CHUNK])
            return sum(pipe.execute())

    def clear(self) -> None:
        with self._talking("clear books"):
            self._client.delete(self.books_key)

    def publish_feed(self, message: dict[str, Any]) -> None:
        payload = encode_message(message)
        with self._talking("publish to the feed"):
            self._client.xadd(self.feed_stream, {FEED_FIELD: payload}, maxlen=self.feed_maxlen, approximate=True)

    def read_feed(self, count: int = 10) -> list[dict[str, Any]]:
        if count <= 0:
            return []
        # MAXLEN ~ trims whole stream nodes, so the stream may hold a few more entries than
        # feed_maxlen; reading at most feed_maxlen keeps the visible cap exact.
        with self._talking("read the feed"):
            entries = self._client.xrevrange(self.feed_stream, count=min(count, self.feed_maxlen))
        payloads = [(_text(entry_id), fields.get(FEED_FIELD) if fields else None) for entry_id, fields in entries or []]
        payloads.reverse()
        return decode_messages(payloads)

    def close(self) -> None:
        self._client.close()


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
