"""What only the Redis store has: round trips as Redis sees them, outages."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import redis

from exchanges.store import RedisBookStore, StoreUnavailable
from kernel.book import OrderBookSnapshot
from kernel.text import redact_url
from tests import free_port

from .test_contract import book

PREFIX = "rt:"


NAME = f"test-books-{uuid.uuid4().hex[:12]}"  # the store's connections, in CLIENT LIST


@pytest.fixture
def store(redis_client: redis.Redis, redis_url: str) -> Iterator[RedisBookStore]:
    named = RedisBookStore(redis_url, PREFIX, client_name=NAME)
    yield named
    named.close()


def seen_by_redis(client: redis.Redis, action: Callable[[], object]) -> list[str]:
    """The commands Redis received from the store's connections while `action` ran."""
    action()  # warm up: connect, handshake, load scripts
    addresses = {c["addr"] for c in client.client_list() if c["name"] == NAME}
    assert addresses, "the store has no open connection"
    sentinel = f"sentinel-{uuid.uuid4().hex}"
    with client.monitor() as monitor:
        action()
        client.echo(sentinel)
        commands: list[str] = []
        for seen in monitor.listen():
            if sentinel in seen["command"]:
                return commands
            if f"{seen['client_address']}:{seen['client_port']}" in addresses:
                commands.append(seen["command"])
    raise AssertionError("MONITOR ended before the sentinel")


def names(commands: list[str]) -> Counter[str]:
    return Counter(command.split(" ", 1)[0].upper() for command in commands)


def test_a_scan_reads_every_book_with_one_command(redis_client: redis.Redis, store: RedisBookStore) -> None:
    store.write_books(book(exchange, f"S{i}-USDT") for exchange in ("binance", "okx") for i in range(300))
    commands = seen_by_redis(redis_client, store.read_all)
    assert commands == [f"HGETALL {PREFIX}books"]
    assert len(store.read_all().books) == 600


def test_a_large_batch_is_written_in_one_transaction(redis_client: redis.Redis, store: RedisBookStore) -> None:
    books = [book("okx", f"S{i}-USDT") for i in range(1200)]
    commands = seen_by_redis(redis_client, lambda: store.write_books(books))
    assert names(commands) == Counter({"MULTI": 1, "HSET": 3, "EXEC": 1})
    assert len(store.read_all().books) == 1200


def test_mark_unhealthy_is_one_script_call(redis_client: redis.Redis, store: RedisBookStore) -> None:
    store.write_books([book()])
    commands = seen_by_redis(redis_client, lambda: store.mark_unhealthy("binance", "BTC-USDT", "gap"))
    assert names(commands) == Counter({"EVALSHA": 1})


def test_mark_unhealthy_keeps_every_digit_of_the_prices(redis_client: redis.Redis, store: RedisBookStore) -> None:
    precise = OrderBookSnapshot("okx", "PEPE-USDT", [[1.2345678901234567e-05, 123456789.12345679]], [], 1, 2)
    store.write_books([precise])
    store.mark_unhealthy("okx", "PEPE-USDT", "gap")
    stored = redis_client.hget(f"{PREFIX}books", "okx|PEPE-USDT")
    assert stored == precise.to_json().replace(b'"is_healthy":true', b'"is_healthy":false')


def test_a_books_key_of_another_type_is_reported_as_unavailable(
    redis_client: redis.Redis, store: RedisBookStore
) -> None:
    redis_client.set(f"{PREFIX}books", "not a hash")
    with pytest.raises(StoreUnavailable, match=r"failed to read books: WRONGTYPE"):
        store.read_all()


def test_an_unreachable_redis_raises_store_unavailable_naming_it() -> None:
    port = free_port()
    store = RedisBookStore(f"redis://:hunter2@127.0.0.1:{port}/0")
    operations: list[Callable[[], object]] = [
        store.read_all,
        lambda: store.write_books([book()]),
        lambda: store.mark_unhealthy("okx", "BTC-USDT", "gap"),
        lambda: store.delete_books([("okx", "BTC-USDT")]),
        store.clear,
    ]
    for operation in operations:
        with pytest.raises(StoreUnavailable) as caught:
            operation()
        message = str(caught.value)
        assert f"redis://:***@127.0.0.1:{port}/0" in message and "hunter2" not in message
    assert "hunter2" not in repr(store)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@redis:6379/1", "redis://:***@redis:6379/1"),
        ("rediss://app:s3cret@cache.internal/2", "rediss://app:***@cache.internal/2"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
