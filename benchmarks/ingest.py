"""Market data ingest speed: `python -m benchmarks.ingest [REDIS_URL] [--profile]`.

One ingest process (the real path: ccxt.pro binance -> CcxtConnector -> CoalescingSink
-> RedisBookStore) is fed by a fake Binance in a process of its own: a websocket server
streaming spot diff-depth events (`depthUpdate`, 10 level changes each, U/u in sequence)
for `SYMBOLS` markets, plus the REST `exchangeInfo` and `depth` snapshot ccxt syncs from.
The events are pre-built templates, so the fake spends its time sending, not building.

Rows (ms columns as in the other sections):
- ccxt cap: `Client.handle_text_or_binary_message` (orjson decode + binance
  `handle_message` + the order book update) on pre-built frames, no network, in ms per
  1,000 messages; the profile's top entries go in the note (and `--profile` prints more).
- sink -> Redis: one `CoalescingSink.flush()` of 1,000 changed books (one pipelined write).
- saturated: the fake sends as fast as the socket takes; messages reflected in Redis per
  second, from the books' `seq_id` (= binance `u`) before and after the window.
- lag: the fake paced at the target's 20,000 messages/s; for sampled books, the time from
  the fake's send of each message to the first poll of Redis that shows it (or a newer
  one): p50 and p99. The poll runs every ~1 ms, which bounds the resolution. With windows
  tuned for latency and the start-up objects frozen out of the garbage collector's sight,
  the same without the freeze, and as `ingest` ships.

Everything shares the machine (fake, ingest, poller and Redis on two cores here): the
numbers are what one ingest process does with a busy neighbour, as in production.
"""

from __future__ import annotations

import asyncio
import bisect
import cProfile
import gc
import io
import multiprocessing
import os
import pstats
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import orjson

DEFAULT_URL = "redis://127.0.0.1:6379/15"
SYMBOLS = 40
SAMPLED = 8  # books whose every message's lag is measured
CHANGES = 10  # level changes per message (5 bids, 5 asks)
LEVELS = 200  # per side in the fake's book
VARIANTS = 256  # pre-built change sets per symbol, cycled
TARGET_RATE = 20_000
WINDOW_SEC = 6.0
TEMPLATE = '{"stream":"%s@depth@100ms","data":{"e":"depthUpdate","E":%d,"s":"%s","U":%d,"u":%d,"b":%s,"a":%s}}'


# --- the feed: binance diff events over a book that never crosses ---------------------


class Feed:
    """Per market: a ladder around its own price, the true book, and pre-built changes."""

    def __init__(self, symbols: int, seed: int = 11) -> None:
        rng = random.Random(seed)
        self.ids = [f"C{i:03d}USDT" for i in range(symbols)]
        self.u = dict.fromkeys(self.ids, 1_000)
        self.books: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
        self.variants: dict[str, list[tuple[str, str, list[tuple[int, str, str]]]]] = {}
        for n, market in enumerate(self.ids):
            mid = 100 + n
            bids = [f"{mid - k * 0.01:.2f}" for k in range(1, LEVELS + 1)]
            asks = [f"{mid + k * 0.01:.2f}" for k in range(1, LEVELS + 1)]
            self.books[market] = (dict.fromkeys(bids, "1.00000000"), dict.fromkeys(asks, "1.00000000"))
            variants = []
            for _ in range(VARIANTS):
                changes = []
                for side, ladder in ((0, bids), (1, asks)):
                    for _ in range(CHANGES // 2):
                        qty = "0.00000000" if rng.random() < 0.1 else f"{rng.uniform(0.01, 10):.8f}"
                        changes.append((side, ladder[rng.randrange(100)], qty))
                b = orjson.dumps([[p, q] for s, p, q in changes if s == 0]).decode()
                a = orjson.dumps([[p, q] for s, p, q in changes if s == 1]).decode()
                variants.append((b, a, changes))
            self.variants[market] = variants

    def next_message(self, market: str, now_ms: int) -> tuple[int, str]:
        u = self.u[market] + 1
        self.u[market] = u
        b, a, changes = self.variants[market][u % VARIANTS]
        book = self.books[market]
        for side, price, qty in changes:
            if qty == "0.00000000":
                book[side].pop(price, None)
            else:
                book[side][price] = qty
        return u, TEMPLATE % (market.lower(), now_ms, market, u, u, b, a)

    def snapshot(self, market: str, limit: int) -> dict[str, Any]:
        bids, asks = self.books[market]
        return {
            "lastUpdateId": self.u[market],
            "bids": sorted(bids.items(), key=lambda level: -float(level[0]))[:limit],
            "asks": sorted(asks.items(), key=lambda level: float(level[0]))[:limit],
        }

    def exchange_info(self) -> dict[str, Any]:
        def market(market_id: str) -> dict[str, Any]:
            return {
                "symbol": market_id,
                "status": "TRADING",
                "baseAsset": market_id[:-4],
                "quoteAsset": "USDT",
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "MARKET"],
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "100000", "tickSize": "0.01"},
                    {"filterType": "LOT_SIZE", "minQty": "0.00000001", "maxQty": "9000", "stepSize": "0.00000001"},
                ],
                "permissions": [],
                "permissionSets": [["SPOT"]],
            }

        return {"timezone": "UTC", "serverTime": int(time.time() * 1000), "symbols": [market(m) for m in self.ids]}


# --- the fake exchange (its own process) ------------------------------------------------


def _serve_fake(pipe: Connection, symbols: int, rate: float, sampled: int) -> None:
    asyncio.run(_fake_main(pipe, symbols, rate, sampled))


async def _fake_main(pipe: Connection, symbols: int, rate: float, sampled: int) -> None:
    from aiohttp import WSMsgType, web

    feed = Feed(symbols)
    watched = set(feed.ids[:sampled])
    sends: dict[str, list[tuple[int, float]]] = {m: [] for m in watched}
    streams: list[tuple[Any, str]] = []  # (websocket, market id): what the pump cycles over

    async def exchange_info(request: web.Request) -> web.Response:
        return web.json_response(feed.exchange_info())

    async def depth(request: web.Request) -> web.Response:
        return web.json_response(feed.snapshot(request.query["symbol"], int(request.query.get("limit", "100"))))

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                break
            command = orjson.loads(message.data)
            for stream in command.get("params", []):
                streams.append((ws, stream.split("@")[0].upper()))
            await ws.send_str(orjson.dumps({"result": None, "id": command.get("id")}).decode())
        streams[:] = [entry for entry in streams if entry[0] is not ws]
        return ws

    async def pump() -> None:
        loop = asyncio.get_running_loop()
        started, sent, turn = loop.time(), 0, 0
        while True:
            if not streams:
                await asyncio.sleep(0.005)
                started = loop.time()
                continue
            batch = min(2_000, int((loop.time() - started) * rate) - sent) if rate else 200
            if batch <= 0:
                await asyncio.sleep(0.001)
                continue
            now_ms = int(time.time() * 1000)
            for _ in range(batch):
                ws, market = streams[turn % len(streams)]
                turn += 1
                u, text = feed.next_message(market, now_ms)
                if market in watched:
                    sends[market].append((u, time.time()))
                if not ws.closed:
                    await ws.send_str(text)  # suspends only when the socket's buffer is full
            sent += batch
            if not rate:
                await asyncio.sleep(0)

    app = web.Application()
    app.router.add_get("/api/v3/exchangeInfo", exchange_info)
    app.router.add_get("/api/v3/depth", depth)
    app.router.add_get("/stream/{n}", websocket)
    app.router.add_get("/stream", websocket)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    pipe.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    pumping = asyncio.create_task(pump())
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # "stop"
    pumping.cancel()
    pipe.send(sends)
    await runner.cleanup()


# --- the ingest process -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setup:
    """How the ingest process is tuned: the connector's and the sink's coalescing windows
    (seconds), and whether it freezes its start-up objects out of the collector's sight."""

    publish_interval: float = 0.005
    flush_interval: float = 0.01
    freeze: bool = True

    def describe(self) -> str:
        frozen = "gc.freeze() at start" if self.freeze else "no gc.freeze()"
        return f"publish {self.publish_interval * 1000:g} ms, flush {self.flush_interval * 1000:g} ms, {frozen}"


# `manage.py ingest --connector ccxt` as it ships: publish_interval 5 ms (ConnectorSettings),
# --flush-interval 10 ms, gc.freeze() after start-up.
TUNED = Setup()
UNFROZEN = Setup(freeze=False)
# The windows ingest shipped with before: coarser coalescing, a longer tail.
COARSE = Setup(0.02, 0.02, freeze=True)


def _run_ingest(redis_url: str, prefix: str, port: int, symbols: list[str], setup: Setup) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from exchanges.connectors.ccxt_config import parse_ingest_config
    from exchanges.connectors.ccxt_connector import build_connector
    from exchanges.connectors.runner import run_connectors
    from exchanges.connectors.symbols import StaticSymbols
    from exchanges.store.redis_store import RedisBookStore

    urls = {"public": f"http://127.0.0.1:{port}/api/v3", "ws": {"spot": f"ws://127.0.0.1:{port}/stream"}}
    connector_settings = {"publish_interval": setup.publish_interval, "subscribe_interval": 0.0}
    config = parse_ingest_config({"binance": {"urls": {"api": urls}, "connector": connector_settings}}, "benchmark")
    connector = build_connector("binance", config, StaticSymbols(symbols))
    store = RedisBookStore(redis_url, key_prefix=prefix, client_name="arbscan-bench-ingest")
    if setup.freeze:
        # What the ingest command can do once set up: file every object alive now
        # (Django, ccxt's classes, the config) where the collector never walks again.
        gc.collect()
        gc.freeze()
    # Runs until the benchmark terminates the process (the duration is only a safety net).
    run_connectors([connector], store, duration=600, flush_interval=setup.flush_interval)


# --- one run: fake + ingest + a poller of Redis -----------------------------------------


@dataclass(frozen=True, slots=True)
class RunResult:
    rate: float  # messages reflected in Redis per second over the window
    sent_rate: float  # messages the fake sent per second over the window
    lags_ms: list[float]


def _run(redis_url: str, rate: float, setup: Setup) -> RunResult:
    import redis

    ctx = multiprocessing.get_context("spawn")
    prefix = f"bench-ingest:{uuid.uuid4().hex}:"
    key = f"{prefix}books"
    symbols = [f"C{i:03d}-USDT" for i in range(SYMBOLS)]
    sampled = [f"binance|{s}" for s in symbols[:SAMPLED]]
    parent, child = ctx.Pipe()
    fake = ctx.Process(target=_serve_fake, args=(child, SYMBOLS, rate, SAMPLED), daemon=True)
    fake.start()
    port = parent.recv()
    ingest = ctx.Process(target=_run_ingest, args=(redis_url, prefix, port, symbols, setup), daemon=True)
    ingest.start()
    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 60
        while client.hlen(key) < SYMBOLS:  # every book synced and written once
            if time.monotonic() > deadline or not ingest.is_alive():
                raise RuntimeError(f"ingest never wrote all {SYMBOLS} books ({client.hlen(key)} written)")
            time.sleep(0.05)
        time.sleep(1.0)  # past the start-up burst
        before, t0 = _seq_ids(client, key), time.time()
        seen: dict[str, list[tuple[float, int]]] = {field: [] for field in sampled}
        while time.time() - t0 < WINDOW_SEC:
            now = time.time()
            for field, value in zip(sampled, client.hmget(key, sampled), strict=True):
                if value is None:  # the hash was flushed under us (db 15 is the tests' too)
                    continue
                u = orjson.loads(value)["meta"]["seq_id"]
                if not seen[field] or seen[field][-1][1] != u:
                    seen[field].append((now, u))
            time.sleep(0.001)
        after, t1 = _seq_ids(client, key), time.time()
        parent.send("stop")
        sends: dict[str, list[tuple[int, float]]] = parent.recv()
    finally:
        for process in (ingest, fake):
            process.terminate()
            process.join(10)
        client.delete(key)
        client.close()
    handled = sum(after[field] - before[field] for field in before if field in after)
    # The fake serves its streams round-robin, so the sampled markets' share is exact.
    sent = sum(1 for market in sends.values() for _, sent_at in market if t0 <= sent_at < t1)
    lags = []
    for field in sampled:
        times = [t for t, _ in seen[field]]
        us = [u for _, u in seen[field]]
        for u, sent_at in sends[field.split("|")[1].replace("-", "")]:
            if not times or sent_at < t0 or sent_at > times[-1]:
                continue
            at = bisect.bisect_left(us, u)  # the first poll showing u or a newer message
            if at < len(us):
                lags.append((times[at] - sent_at) * 1000.0)
    return RunResult(handled / (t1 - t0), sent * SYMBOLS / SAMPLED / (t1 - t0), lags)


def _seq_ids(client: Any, key: str) -> dict[str, int]:
    """seq_id of every book; waits out a moment when the tests flushed db 15 under us
    (the connector rewrites each book within a publish window)."""
    deadline = time.monotonic() + 5
    while True:
        stored = client.hgetall(key)
        if len(stored) >= SYMBOLS or time.monotonic() > deadline:
            return {field.decode(): orjson.loads(value)["meta"]["seq_id"] for field, value in stored.items()}
        time.sleep(0.002)


# --- in-process measurements --------------------------------------------------------------


def ccxt_cap(messages: int = 60_000, profile: bool = False) -> tuple[list[float], str]:
    """ms per 1,000 frames through ccxt's own message handling, 5 runs; and a profile."""
    import ccxt.pro

    async def main() -> tuple[list[float], str]:
        exchange = ccxt.pro.binance({"options": {"fetchMarkets": {"types": ["spot"]}}})
        feed = Feed(SYMBOLS)
        exchange.options["crossMarginPairsData"] = exchange.options["isolatedMarginPairsData"] = []
        exchange.set_markets(exchange.parse_markets(feed.exchange_info()["symbols"]))
        client = exchange.client(exchange.urls["api"]["ws"]["spot"] + "/stream/0")
        samples, report = [], ""
        for run in range(6):
            for market in feed.ids:  # a synced book per market, as after the REST snapshot
                snapshot = feed.snapshot(market, 100)
                sides = {side: [[float(p), float(q)] for p, q in snapshot[side]] for side in ("bids", "asks")}
                book = exchange.order_book(sides, 100)
                book["nonce"], book["timestamp"] = feed.u[market], 1
                exchange.orderbooks[exchange.safe_symbol(market)] = book
            frames = [feed.next_message(feed.ids[i % SYMBOLS], 1)[1] for i in range(messages)]
            handle = client.handle_text_or_binary_message
            if run == 5:  # the last run, profiled (cProfile slows it: not timed)
                profiler = cProfile.Profile()
                profiler.runcall(_feed_all, handle, frames)
                report = _top(profiler, 12 if profile else 4)
                continue
            started = time.perf_counter()
            _feed_all(handle, frames)
            if run:  # run 0 warms up
                samples.append((time.perf_counter() - started) * 1000.0 * 1000 / messages)
        await exchange.close()
        return samples, report

    return asyncio.run(main())


def _feed_all(handle: Callable[[str], None], frames: list[str]) -> None:
    for frame in frames:
        handle(frame)


def _top(profiler: cProfile.Profile, count: int) -> str:
    """Own time by source file (ccxt's modules), then by function: where the time goes."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    entries: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(own for _, _, own, _, _ in entries.values())
    by_file: dict[str, float] = {}
    for (filename, _, function), (_, _, own, _, _) in entries.items():
        where = "/".join(filename.split("/")[-2:]) if filename != "~" else function
        by_file[where] = by_file.get(where, 0.0) + own
    files = sorted(by_file.items(), key=lambda item: -item[1])[:count]
    functions = sorted(entries.items(), key=lambda item: -item[1][2])[:count]
    return (
        "by file: "
        + ", ".join(f"{name} {own / total:.0%}" for name, own in files)
        + "; by function: "
        + ", ".join(f"{func[2]} {own / total:.0%}" for func, (_, _, own, _, _) in functions)
    )


def sink_flush(redis_url: str, books: int = 1_000, repeats: int = 15) -> list[float]:
    """ms to flush `books` changed books (25 levels a side) from CoalescingSink to Redis in
    one pipelined write: the store side of one coalescing window."""
    from exchanges.connectors.base import CoalescingSink
    from exchanges.store.redis_store import RedisBookStore
    from kernel.book import OrderBookSnapshot

    rng = random.Random(5)
    bids = [[round(100.0 - k * 0.01, 2), round(rng.uniform(0.01, 10), 8)] for k in range(1, 26)]
    asks = [[round(100.0 + k * 0.01, 2), round(rng.uniform(0.01, 10), 8)] for k in range(1, 26)]
    store = RedisBookStore(redis_url, key_prefix=f"bench-sink:{uuid.uuid4().hex}:", client_name="arbscan-benchmark")

    async def once(seq: int) -> float:
        sink = CoalescingSink(store, flush_interval=0)
        sink.put_many(
            OrderBookSnapshot("binance", f"C{i:04d}-USDT", bids, asks, seq, seq + 5, True, {"seq_id": seq})
            for i in range(books)
        )
        started = time.perf_counter()
        if not await sink.flush():
            raise RuntimeError("the sink's write to Redis failed")
        return (time.perf_counter() - started) * 1000.0

    try:
        return [asyncio.run(once(seq)) for seq in range(repeats + 1)][1:]  # the first connects
    finally:
        store.clear()
        store.close()


# --- rows -----------------------------------------------------------------------------------


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")


def ingest_rows(redis_url: str) -> list[tuple[str, float, float, str]]:
    """(name, min or p50, median or p99, note) rows; see the module docstring."""
    cap, top = ccxt_cap()
    flush = sink_flush(redis_url)
    # Best of two: the machine's other work only ever makes a run slower.
    saturated = max((_run(redis_url, 0, TUNED) for _ in range(2)), key=lambda result: result.rate)
    per_k = 1e6 / saturated.rate
    rows = [
        (
            "ccxt binance handle_message, no network (ms/1k msgs)",
            min(cap),
            statistics.median(cap),
            f"{1e6 / statistics.median(cap):,.0f} msgs/s; {top}",
        ),
        ("sink -> Redis: flush of 1,000 changed books (ms)", min(flush), statistics.median(flush), "25 levels a side"),
        (
            "fake ws -> ccxt -> connector -> Redis, saturated (ms/1k msgs)",
            per_k,
            per_k,
            f"{saturated.rate:,.0f} msgs/s in one process ({SYMBOLS} symbols, {CHANGES} changes a message)",
        ),
    ]
    for setup in (TUNED, UNFROZEN, COARSE):
        paced = _run(redis_url, TARGET_RATE, setup)
        rows.append(
            (
                f"send -> readable in Redis at {TARGET_RATE:,} msgs/s (p50, p99 ms)",
                _percentile(paced.lags_ms, 50),
                _percentile(paced.lags_ms, 99),
                f"{setup.describe()}; sent {paced.sent_rate:,.0f}/s, handled {paced.rate:,.0f}/s, "
                f"{len(paced.lags_ms):,} msgs sampled",
            )
        )
    return rows


def main(argv: list[str]) -> int:
    url = next((a for a in argv if not a.startswith("--")), os.environ.get("TEST_REDIS_URL", DEFAULT_URL))
    if "--profile" in argv:
        _, report = ccxt_cap(profile=True)
        print("ccxt message handling, own time:", report.replace(", ", "\n  ").replace("; ", "\n"), sep="\n")
        return 0
    for name, first, second, note in ingest_rows(url):
        print(f"{name:60s} {first:9.2f} {second:9.2f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
