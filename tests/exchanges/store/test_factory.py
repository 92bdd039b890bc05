"""get_book_store(): the settings decide, at call time, which store the process shares."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis
from pytest_django.fixtures import Settings

from exchanges.store import MemoryBookStore, RedisBookStore, get_book_store, reset_book_store

from .test_contract import book


@pytest.fixture(autouse=True)
def fresh_stores() -> Iterator[None]:
    reset_book_store()
    yield
    reset_book_store()


def test_without_redis_every_caller_shares_one_memory_store(settings: Settings) -> None:
    settings.REDIS_URL = ""
    store = get_book_store()
    assert isinstance(store, MemoryBookStore)
    from_thread = []
    thread = threading.Thread(target=lambda: from_thread.append(get_book_store()))
    thread.start()
    thread.join()
    assert from_thread == [store] and get_book_store() is store
    store.write_books([book()])
    assert get_book_store().read_all().books == [book()]


def test_reset_forgets_the_shared_store(settings: Settings) -> None:
    settings.REDIS_URL = ""
    before = get_book_store()
    reset_book_store()
    assert get_book_store() is not before


def test_with_redis_the_store_uses_the_configured_names(
    settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    settings.REDIS_URL = redis_url
    settings.BOOK_KEY_PREFIX = "cfg:"
    store = get_book_store()
    assert isinstance(store, RedisBookStore) and get_book_store() is store
    store.write_books([book()])
    assert redis_client.hkeys("cfg:books") == [b"binance|BTC-USDT"]

    settings.BOOK_KEY_PREFIX = "other:"
    assert get_book_store() is not store  # read at call time, not cached across settings
