"""The Redis book store of full mode.

Layout (db and name from settings: REDIS_URL, BOOK_KEY_PREFIX): `{prefix}books` is ONE
hash, field `exchange|symbol`, value the book's canonical JSON. A scan reads every book
with one HGETALL: one round trip, one consistent instant. Writes are HSETs of up to
`WRITE_CHUNK` books, sent in one MULTI/EXEC pipeline, so a batch lands whole between two
scans.

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
from contextlib import AbstractContextManager, contextmanager

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from kernel.book import OrderBookSnapshot
from kernel.text import redact_url

from .base import BookSlice, StoreUnavailable
from .codec import RawBooks, book_field

logger = logging.getLogger(__name__)

WRITE_CHUNK = 500  # books per HSET: bounds one command's size (~0.5 MB) and its latency

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


class RedisBookStore:
    def __init__(
        self,
        url: str,
        key_prefix: str = "book:",
        *,
        client_name: str | None = "arbscan-books",
        socket_timeout: float = 10.0,
    ) -> None:
        self.url = redact_url(url)
        self.books_key = f"{key_prefix}books"
        self._client = redis_client(url, client_name=client_name, socket_timeout=socket_timeout)
        self._mark = self._client.register_script(_MARK_UNHEALTHY)

    def __repr__(self) -> str:
        return f"RedisBookStore({self.url!r}, books={self.books_key!r})"

    def _talking(self, action: str) -> AbstractContextManager[None]:
        return talking_to(self.url, action)

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

    def mark_unhealthy_many(self, keys: Iterable[tuple[str, str]], reason: str) -> int:
        fields = [book_field(exchange, symbol) for exchange, symbol in keys]
        if not fields:
            return 0
        with self._talking("mark books unhealthy"):
            pipe = self._client.pipeline(transaction=False)
            for field in fields:
                self._mark(keys=[self.books_key], args=[field], client=pipe)
            found = sum(bool(result) for result in pipe.execute())
        logger.info("books marked unhealthy", extra={"books": found, "reason": reason})
        return found

    def read_raw(self) -> RawBooks:
        """Every stored value as it is, field -> JSON: one HGETALL, one round trip."""
        with self._talking("read books"):
            return RawBooks(self._client.hgetall(self.books_key))

    def read_all(self) -> BookSlice:
        return self.read_raw().decode_all()

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

    def close(self) -> None:
        self._client.close()


def redis_client(url: str, *, client_name: str | None, socket_timeout: float = 10.0) -> redis.Redis:
    """A client for the product's Redis (books, feed, scan lock) that fails fast: one quick
    retry covers a pooled connection a Redis restart closed; a server that is really gone
    fails at once, and the caller retries at its next tick."""
    return redis.Redis.from_url(
        url,
        client_name=client_name,
        socket_connect_timeout=2.0,
        socket_timeout=socket_timeout,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
    )


@contextmanager
def talking_to(url: str, action: str) -> Iterator[None]:
    """Turns a Redis failure into StoreUnavailable naming the server (`url`, redacted) and
    what failed, so callers catch one error and users read which service is down."""
    try:
        yield
    except redis.RedisError as exc:
        raise StoreUnavailable(f"Redis at {url} failed to {action}: {exc}") from exc
