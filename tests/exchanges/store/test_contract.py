"""The BookStore contract, run against both implementations: the in-memory store and the
Redis store on the real server (db 15, flushed around each test)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
import redis

from exchanges.store import BookStore, MemoryBookStore, RedisBookStore, codec
from kernel.book import OrderBookSnapshot
from kernel.text import name_of
from kernel.throttle import Throttle

PREFIX = "contract:"

PutRaw = Callable[[str, bytes], object]


def book(
    exchange: str = "binance", symbol: str = "BTC-USDT", seq: int = 1, price: float = 60_000.0
) -> OrderBookSnapshot:
    return OrderBookSnapshot(
        exchange=exchange,
        symbol=symbol,
        bids=[[price - 0.5, 1.25], [price - 1.0, 0.1 + seq / 1000]],
        asks=[[price + 0.123456789012345, 0.7], [price + 2.0, 3.0]],
        ts_event=1_750_000_000_000 + seq,
        ts_ingest=1_750_000_000_007 + seq,
        meta={"seq_id": seq, "checksum_ok": True},
    )


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[tuple[BookStore, PutRaw]]:
    """A fresh store, and a way to put a raw value under a field behind its back."""
    if request.param == "memory":
        memory = MemoryBookStore()
        yield memory, memory.write_raw
        return
    client: redis.Redis = request.getfixturevalue("redis_client")
    store = RedisBookStore(request.getfixturevalue("redis_url"), PREFIX)
    yield store, lambda key, value: client.hset(f"{PREFIX}books", key, value)
    store.close()


@pytest.fixture
def store(backend: tuple[BookStore, PutRaw]) -> BookStore:
    return backend[0]


@pytest.fixture
def put_raw(backend: tuple[BookStore, PutRaw]) -> PutRaw:
    return backend[1]


def stored(store: BookStore) -> dict[tuple[str, str], OrderBookSnapshot]:
    book_slice = store.read_all()
    assert book_slice.corrupt == []
    books = {b.key: b for b in book_slice.books}
    assert len(books) == len(book_slice.books), "a book appears twice in the slice"
    return books


# --- books -----------------------------------------------------------------------------


def test_an_empty_store_reads_empty(store: BookStore) -> None:
    assert store.read_all().books == [] and store.read_all().corrupt == []
    assert store.write_books([]) == 0


def test_written_books_read_back_equal(store: BookStore) -> None:
    books = [book("binance"), book("okx"), book("okx", "ETH-USDT", price=3000.0)]
    assert store.write_books(iter(books)) == 3
    assert stored(store) == {b.key: b for b in books}


def test_a_write_replaces_the_book_under_its_key(store: BookStore) -> None:
    store.write_books([book(seq=1), book("okx", seq=1)])
    store.write_books([book(seq=2, price=61_000.0)])
    books = stored(store)
    assert books[("binance", "BTC-USDT")] == book(seq=2, price=61_000.0)
    assert books[("okx", "BTC-USDT")] == book("okx", seq=1)


def test_the_last_copy_of_a_book_in_one_batch_wins(store: BookStore) -> None:
    assert store.write_books([book(seq=1), book(seq=3), book(seq=2)]) == 3
    assert stored(store) == {("binance", "BTC-USDT"): book(seq=2)}


def test_a_reader_gets_its_own_copies(store: BookStore) -> None:
    store.write_books([book()])
    first = store.read_all().books[0]
    first.bids[0][0] = 1.0
    first.meta["seq_id"] = 999
    assert stored(store)[("binance", "BTC-USDT")] == book()


def test_mark_unhealthy_flags_the_stored_book_at_once(store: BookStore) -> None:
    store.write_books([book("binance"), book("okx")])
    assert store.mark_unhealthy("okx", "BTC-USDT", "sequence gap") is True
    books = stored(store)
    assert books[("okx", "BTC-USDT")] == replace(book("okx"), is_healthy=False)
    assert books[("binance", "BTC-USDT")].is_healthy is True
    assert store.mark_unhealthy("okx", "BTC-USDT", "again") is True  # already unhealthy: still there
    assert stored(store)[("okx", "BTC-USDT")].is_healthy is False


def test_mark_unhealthy_of_an_absent_book_is_false(store: BookStore) -> None:
    store.write_books([book("okx")])
    assert store.mark_unhealthy("okx", "ETH-USDT", "gap") is False
    assert store.mark_unhealthy("kraken", "BTC-USDT", "gap") is False
    assert stored(store) == {("okx", "BTC-USDT"): book("okx")}


def test_mark_unhealthy_leaves_a_flag_of_the_same_name_in_meta_alone(store: BookStore) -> None:
    tricky = replace(book(), meta={"is_healthy": True, "nested": [{"is_healthy": True}]})
    store.write_books([tricky])
    store.mark_unhealthy("binance", "BTC-USDT", "bad checksum")
    assert stored(store)[("binance", "BTC-USDT")] == replace(tricky, is_healthy=False)


def test_a_fresh_snapshot_heals_an_unhealthy_book(store: BookStore) -> None:
    store.write_books([book(seq=1)])
    store.mark_unhealthy("binance", "BTC-USDT", "gap")
    store.write_books([book(seq=2)])
    assert stored(store)[("binance", "BTC-USDT")] == book(seq=2)


def test_delete_removes_only_the_named_books(store: BookStore) -> None:
    store.write_books([book("binance"), book("okx"), book("kraken")])
    assert store.delete_books([("binance", "BTC-USDT"), ("okx", "BTC-USDT"), ("okx", "ETH-USDT")]) == 2
    assert list(stored(store)) == [("kraken", "BTC-USDT")]
    assert store.delete_books([]) == 0


def test_clear_removes_every_book(store: BookStore) -> None:
    store.write_books([book("binance"), book("okx")])
    store.clear()
    assert stored(store) == {}
    store.write_books([book("okx")])
    assert list(stored(store)) == [("okx", "BTC-USDT")]


# --- corrupt values ----------------------------------------------------------------------

VALID = b'{"exchange":"okx","symbol":"X-Y","bids":[[1.0,1.0]],"asks":[[2.0,1.0]],"ts_event":1,"ts_ingest":2}'
JUNK = {
    "okx|NOT-JSON": (b"{not json", "invalid JSON"),
    "okx|EMPTY-VALUE": (b"", "invalid JSON"),
    "okx|BINARY-JUNK": (b"\xff\xfe\x00garbage", "invalid JSON"),
    "okx|A-LIST": (b"[1, 2]", "expected a JSON object"),
    "okx|NO-BIDS": (VALID.replace(b'"bids":[[1.0,1.0]],', b""), "missing field(s) bids"),
    "okx|X-Y": (VALID.replace(b"[[2.0,1.0]]", b"[[0.5,1.0]]"), "crossed"),
    "okx|STRING-JUNK": (VALID.replace(b"[[1.0,1.0]]", b'[["1.0","lots"]]'), "bids[0] qty"),
    "okx|BOOL-QTY": (VALID.replace(b"[[1.0,1.0]]", b"[[1.0,true]]"), "bids[0] qty"),
    "binance|X-Y": (VALID, "wrong key"),
}


def test_corrupt_values_are_skipped_and_reported_and_valid_books_survive(
    store: BookStore, put_raw: PutRaw, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codec, "_corrupt_logs", Throttle(60.0))
    good = [book("binance"), book("okx"), book("kraken", "ETH-USDT", price=3000.0)]
    store.write_books(good)
    for key, (value, _) in JUNK.items():
        put_raw(key, value)
    with caplog.at_level(logging.WARNING, logger="exchanges.store"):
        book_slice = store.read_all()
    assert {b.key: b for b in book_slice.books} == {b.key: b for b in good}
    errors = {item.key: item.error for item in book_slice.corrupt}
    assert set(errors) == set(JUNK)
    for key, (_, expected) in JUNK.items():
        assert expected in errors[key], (key, errors[key])
    lines = [r for r in caplog.records if r.msg.startswith("corrupt book skipped")]
    assert {(vars(r)["key"], vars(r)["error"]) for r in lines} == set(errors.items())
    # The key is in the message itself, for logs that drop the extra fields.
    assert all(name_of(vars(r)["key"], 80) in r.getMessage() for r in lines)

    # Every scan reads the junk again: it is not logged again for a minute.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="exchanges.store"):
        store.read_all()
    assert not [r for r in caplog.records if r.msg.startswith("corrupt book skipped")]


def test_many_books_are_marked_unhealthy_at_once_and_absent_ones_counted_out(store: BookStore) -> None:
    store.write_books([book("binance"), book("okx"), book("kraken")])
    assert store.mark_unhealthy_many([("binance", "BTC-USDT"), ("okx", "BTC-USDT"), ("gate", "BTC-USDT")], "stop") == 2
    health = {b.exchange: b.is_healthy for b in store.read_all().books}
    assert health == {"binance": False, "okx": False, "kraken": True}
    assert store.mark_unhealthy_many([], "stop") == 0


def test_marking_a_corrupt_value_keeps_it_reported(store: BookStore, put_raw: PutRaw) -> None:
    store.write_books([book()])
    put_raw("okx|BTC-USDT", b"{not json")
    assert store.mark_unhealthy("okx", "BTC-USDT", "gap") is True
    book_slice = store.read_all()
    assert [c.key for c in book_slice.corrupt] == ["okx|BTC-USDT"]
    assert book_slice.books == [book()]


@pytest.mark.parametrize(
    "value",
    [
        b'{"meta": {"is_healthy": true}, ' + VALID[1:].replace(b":", b": "),  # spaced, flag missing
        b'{"meta":{"is_healthy":true},' + VALID[1:-1] + b',"is_healthy":true}',  # meta's flag comes first
    ],
)
def test_a_value_in_another_layout_can_be_marked_unhealthy(store: BookStore, put_raw: PutRaw, value: bytes) -> None:
    put_raw("okx|X-Y", value)
    assert stored(store)[("okx", "X-Y")].is_healthy is True
    assert store.mark_unhealthy("okx", "X-Y", "gap") is True
    (flagged,) = stored(store).values()
    assert flagged.is_healthy is False and flagged.meta == {"is_healthy": True}


# --- concurrency -------------------------------------------------------------------------


def test_concurrent_writers_and_readers_lose_nothing(store: BookStore) -> None:
    exchanges = ["binance", "okx", "kraken", "bybit"]
    symbols = [f"S{i}-USDT" for i in range(25)]
    rounds = 15
    failures: list[BaseException] = []
    done = threading.Event()

    def writer(exchange: str) -> None:
        try:
            for seq in range(1, rounds + 1):
                store.write_books(book(exchange, symbol, seq) for symbol in symbols)
                store.mark_unhealthy(exchange, symbols[seq % len(symbols)], "gap")
        except BaseException as exc:  # surfaced by the main thread
            failures.append(exc)

    def reader() -> None:
        try:
            while not done.is_set():
                book_slice = store.read_all()
                assert book_slice.corrupt == []
                assert len(book_slice.books) <= len(exchanges) * len(symbols)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(e,)) for e in exchanges]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads + readers:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert failures == []
    books = stored(store)
    assert len(books) == len(exchanges) * len(symbols)
    for exchange in exchanges:
        flagged = symbols[rounds % len(symbols)]
        for symbol in symbols:
            expected = book(exchange, symbol, rounds)
            assert books[(exchange, symbol)] == replace(expected, is_healthy=symbol != flagged)
