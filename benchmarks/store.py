"""The Redis book store at scan scale: `python -m benchmarks.store [REDIS_URL]`.

Writes exchanges x symbols books of `levels` levels a side (14 x 500 x 20 by default, ~0.9
KB each, like a full deployment) under a throwaway key of the given Redis database
(default TEST_REDIS_URL or redis://127.0.0.1:6379/15; nothing else is touched), then
times what a scan and the connectors do. The garbage collector runs as in production
(read_all holds it while decoding, see kernel.gc_tuning.gc_paused); the freeing of
each result is inside the timings, as a scan pays it too.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable

from exchanges.store.redis_store import RedisBookStore
from kernel.book import OrderBookSnapshot

DEFAULT_URL = "redis://127.0.0.1:6379/15"


def synthetic_books(exchanges: int, symbols: int, levels: int, seed: int = 7) -> list[OrderBookSnapshot]:
    """Plausible books: one mid per symbol, each exchange a little off it, tick-spaced levels."""
    rng = random.Random(seed)
    books = []
    for s in range(symbols):
        # Prices on a tick grid and quantities with a few decimals, as exchanges send them.
        decimals = rng.randrange(0, 9)
        tick = 10.0**-decimals
        mid_ticks = rng.randrange(10_000, 1_000_000)
        for e in range(exchanges):
            local = mid_ticks + rng.randrange(-50, 50)
            bids = [[round((local - 1 - k) * tick, decimals), round(rng.uniform(0.01, 50.0), 4)] for k in range(levels)]
            asks = [[round((local + 1 + k) * tick, decimals), round(rng.uniform(0.01, 50.0), 4)] for k in range(levels)]
            ts = 1_750_000_000_000 + rng.randrange(1000)
            books.append(
                OrderBookSnapshot(
                    exchange=f"exchange{e:02d}",
                    symbol=f"C{s:04d}-USDT",
                    bids=bids,
                    asks=asks,
                    ts_event=ts,
                    ts_ingest=ts + rng.randrange(5, 80),
                    meta={"seq_id": rng.randrange(10**9), "checksum_ok": True, "lag_ms": 40},
                )
            )
    return books


def _timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()  # warm-up: connections, caches
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000.0)
    return min(samples), statistics.median(samples)


def store_rows(
    redis_url: str, exchanges: int = 14, symbols: int = 500, levels: int = 20, repeats: int = 7
) -> list[tuple[str, float, float, str]]:
    """(name, min_ms, median_ms, note) rows for the fetch, the full read and the write."""
    books = synthetic_books(exchanges, symbols, levels)
    count = len(books)
    store = RedisBookStore(redis_url, key_prefix=f"bench:{uuid.uuid4().hex}:", client_name="arbscan-benchmark")
    try:
        store.write_books(books)
        stored = store.read_raw()
        megabytes = stored.value_bytes() / 1e6
        size = f"{count:,} books, {megabytes:.1f} MB, {megabytes * 1e3 / count:.2f} KB each"
        read = store.read_all()
        if len(read.books) != count or read.corrupt:
            raise RuntimeError(f"read back {len(read.books)} books and {len(read.corrupt)} corrupt of {count}")

        rows = [
            ("store: fetch (one HGETALL)", *_timed(store.read_raw, repeats), size),
            ("store: decode + validate", *_timed(stored.decode_all, repeats), "orjson + parse_book"),
            ("store: read_all (fetch + decode + validate)", *_timed(store.read_all, repeats), "what a scan pays"),
            ("store: write_books (one MULTI/EXEC)", *_timed(lambda: store.write_books(books), repeats), size),
        ]
    finally:
        store.clear()
        store.close()
    return rows


def encoding_rows(
    redis_url: str, exchanges: int = 14, symbols: int = 2000, levels: int = 20, repeats: int = 5
) -> list[tuple[str, float, float, str]]:
    """The floor of a scan's read (one HGETALL, then every value decoded, the collector held)
    for the canonical JSON against two compact encodings: msgpack of the same object, and
    a small JSON header plus the levels as packed float64 (decoded to level pairs). DESIGN
    fixes Redis values as one JSON object per book: this measures what a change would buy."""
    import array
    import gc

    import msgpack
    import orjson
    import redis

    books = synthetic_books(exchanges, symbols, levels)
    client = redis.Redis.from_url(redis_url)
    key = f"bench:{uuid.uuid4().hex}:encodings"

    def packed(book: OrderBookSnapshot) -> bytes:
        fields = {k: v for k, v in book.to_dict().items() if k not in ("bids", "asks")}
        header = orjson.dumps(fields | {"n": [len(book.bids), len(book.asks)]})
        flat = array.array("d", [x for level in (*book.bids, *book.asks) for x in level])
        return len(header).to_bytes(4, "little") + header + flat.tobytes()

    def unpacked(value: bytes) -> dict[str, object]:
        size = int.from_bytes(value[:4], "little")
        head = orjson.loads(value[4 : 4 + size])
        flat = array.array("d")
        flat.frombytes(value[4 + size :])
        numbers = flat.tolist()
        pairs = [numbers[i : i + 2] for i in range(0, len(numbers), 2)]
        bids = head.pop("n")[0]
        head["bids"], head["asks"] = pairs[:bids], pairs[bids:]
        return head

    encodings: dict[str, tuple[Callable[[OrderBookSnapshot], bytes], Callable[[bytes], object]]] = {
        "JSON (canonical)": (lambda b: b.to_json(), orjson.loads),
        "msgpack": (lambda b: msgpack.packb(b.to_dict()), msgpack.unpackb),
        "packed float64": (packed, unpacked),
    }
    rows: list[tuple[str, float, float, str]] = []
    floor_json = 0.0
    try:
        for name, (encode, decode) in encodings.items():
            client.delete(key)
            values: dict[str | bytes, bytes] = {f"{b.exchange}|{b.symbol}": encode(b) for b in books}
            client.hset(key, mapping=values)  # type: ignore[arg-type]  # redis-py's Mapping is invariant
            size = sum(len(v) for v in values.values())

            def floor(decode: Callable[[bytes], object] = decode) -> None:
                raw: dict[bytes, bytes] = client.hgetall(key)  # type: ignore[assignment]
                gc.disable()
                try:
                    [decode(v) for v in raw.values()]
                finally:
                    gc.enable()

            best, median = _timed(floor, repeats)
            floor_json = floor_json or median
            rows.append(
                (
                    f"floor at {len(books):,} books: {name}",
                    best,
                    median,
                    f"{size / 1e6:.1f} MB; {median / floor_json:.2f}x of JSON's median",
                )
            )
    finally:
        client.delete(key)
        client.close()
    return rows


def main(argv: list[str]) -> int:
    url = argv[0] if argv else os.environ.get("TEST_REDIS_URL", DEFAULT_URL)
    rows = store_rows(url)
    width = max(len(name) for name, *_ in rows)
    print(f"{'case'.ljust(width)}  {'min ms':>8}  {'median ms':>9}  note")
    for name, best, median, note in rows:
        print(f"{name.ljust(width)}  {best:8.1f}  {median:9.1f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
