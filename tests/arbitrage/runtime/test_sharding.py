"""The scan split into shards (SCAN_SHARDS > 1): the merged result is the unsharded scan's,
each shard decodes only its books, and a scan missing a shard records nothing."""

from __future__ import annotations

import gc
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from kombu.utils import json as kombu_json
from prometheus_client import REGISTRY

from arbitrage import tasks
from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import FeeSchedule, ScanParams
from arbitrage.models import Episode
from arbitrage.runtime import sharding
from arbitrage.runtime.config import load_scan_config
from arbitrage.runtime.feed import ScanMessage
from arbitrage.runtime.services import Services, get_services, reset_services
from arbitrage.runtime.sharding import IncompleteScan, ShardResult, merge_shards, scan_shard, shard_of
from config.celery import app
from exchanges.store import RawBooks
from exchanges.store.redis_store import RedisBookStore
from kernel.book import OrderBookSnapshot
from tests.conftest import in_process_worker
from tests.factories import book, now_ms

NOW = 1_750_000_000_000
FAIR = {"USDT": 1.0, "BTC": 60_000.0, "ETH": 3_000.0, "SOL": 150.0, "DOGE": 0.1}
SYMBOLS = ("BTC-USDT", "ETH-USDT", "SOL-USDT", "DOGE-USDT", "ETH-BTC", "SOL-BTC", "DOGE-BTC", "SOL-ETH")
EXCHANGES = ("binance", "okx", "gate", "kucoin", "kraken")
FEES = FeeSchedule(
    taker_fee_bps={"binance": 7.5, "okx": 8.0, "gate": 20.0},
    withdraw_fees={"binance": {"SOL": 0.01, "BTC": 0.0002}, "okx": {"DOGE": 5.0}},
    withdrawals_disabled=frozenset({("gate", "ETH")}),
)


def priced(exchange: str, symbol: str, mid: float, ts: int, healthy: bool = True) -> OrderBookSnapshot:
    base = symbol.split("-")[0]
    # Five levels worth ~20,000 USDT each, a 1 bp half-spread and 1 bp between levels.
    return book(
        exchange,
        symbol,
        bid=mid * 0.9999,
        ask=mid * 1.0001,
        qty=20_000.0 / FAIR[base],
        step=mid * 1e-4,
        ts=ts,
        healthy=healthy,
    )


def market(ts: int) -> list[OrderBookSnapshot]:
    """Every exchange lists every symbol near one fair price, with planted edges: SOL is
    dear on okx and DOGE cheap on gate (spatial), ETH-BTC is cheap on kucoin and SOL-ETH
    on binance (triangular cycles)."""
    skew = {("okx", "SOL"): 1.01, ("gate", "DOGE"): 0.99}
    cheap = {("kucoin", "ETH-BTC"): 0.99, ("binance", "SOL-ETH"): 0.99}
    books = []
    for exchange in EXCHANGES:
        for symbol in SYMBOLS:
            base, quote = symbol.split("-")
            mid = FAIR[base] * skew.get((exchange, base), 1.0) / (FAIR[quote] * skew.get((exchange, quote), 1.0))
            books.append(priced(exchange, symbol, mid * cheap.get((exchange, symbol), 1.0), ts))
    return books


def raw_hash(books: list[OrderBookSnapshot]) -> dict[bytes, bytes]:
    return {f"{b.exchange}|{b.symbol}".encode(): b.to_json() for b in books}


def sharded(raw: dict[bytes, bytes], shards: int, now: int, params: ScanParams, fees: FeeSchedule) -> Any:
    # Each result crosses the broker as JSON, as in production.
    results = [
        ShardResult.from_dict(
            kombu_json.loads(kombu_json.dumps(scan_shard(RawBooks(raw), i, shards, now, params, fees).as_dict()))
        )
        for i in range(shards)
    ]
    return merge_shards(results, shards)


def assert_same_as_unsharded(raw: dict[bytes, bytes], now: int, params: ScanParams, fees: FeeSchedule) -> None:
    whole_slice = RawBooks(raw).decode_all()
    whole = scan_books(whole_slice.books, now, params, fees)
    for shards in (1, 2, 3, 4):
        merged = sharded(raw, shards, now, params, fees)
        assert [o.as_dict() for o in merged.opportunities] == [o.as_dict() for o in whole.opportunities], shards
        assert merged.books_total == len(whole_slice.books)
        assert merged.books_used == whole.books_used
        assert merged.corrupt_books == len(whole_slice.corrupt)


# --- the merged result is the unsharded scan's --------------------------------------------


def test_a_planted_market_gives_the_same_opportunities_in_any_number_of_shards():
    raw = raw_hash(market(NOW))
    # Junk under keys no book could have: counted as corrupt once, sharded or not.
    raw[b"binance|\xffBAD-USDT"] = b"{}"
    raw[b"no separator"] = b"[]"
    found = scan_books(RawBooks(raw).decode_all().books, NOW, ScanParams(), FEES).opportunities
    assert {o.type for o in found} == {"spatial", "triangular"}
    assert any(o.symbol.endswith("-BTC") for o in found), "a non-USDT quote is priced through BTC-USDT"
    assert_same_as_unsharded(raw, NOW, ScanParams(), FEES)


@st.composite
def slices(draw: st.DrawFn) -> dict[bytes, bytes]:
    """Random small slices: any subset of markets per exchange (so quotes may lack a USDT
    book, and assets may reach USDT only through other exchanges' mids), prices off fair by
    up to 2 %, books on both sides of the staleness bound, unhealthy and corrupt values."""
    exchanges = draw(st.lists(st.sampled_from(EXCHANGES), min_size=1, max_size=5, unique=True))
    raw: dict[bytes, bytes] = {}
    for exchange in exchanges:
        for symbol in draw(st.lists(st.sampled_from(SYMBOLS), max_size=len(SYMBOLS), unique=True)):
            base, quote = symbol.split("-")
            mid = FAIR[base] / FAIR[quote] * (1.0 + draw(st.floats(-0.02, 0.02)))
            state = draw(st.sampled_from(["valid"] * 7 + ["unhealthy", "corrupt", "misfiled"]))
            # Ages around the 10 s staleness bound, on it included.
            ts = NOW - draw(st.sampled_from([0, 1500, 3000, 9_999, 10_000, 10_001, 20_000]))
            key = f"{exchange}|{symbol}".encode()
            value = priced(exchange, symbol, mid, ts, healthy=state != "unhealthy")
            if state == "corrupt":
                raw[key] = b'{"exchange": "' + exchange.encode() + b'", "bids": ['
            elif state == "misfiled":  # a valid book under another book's field
                raw[key] = priced("elsewhere", symbol, mid, ts).to_json()
            else:
                raw[key] = value.to_json()
    return raw


@given(raw=slices(), min_edge=st.sampled_from([-0.5, 0.0, 0.1, 0.5]))
@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_slice_gives_the_same_result_sharded_and_whole(raw, min_edge):
    assert_same_as_unsharded(raw, NOW, ScanParams(min_net_edge_pct=min_edge), FEES)


def test_the_merge_refuses_a_scan_missing_or_with_a_failed_shard():
    raw = raw_hash(market(NOW))
    parts = [scan_shard(RawBooks(raw), i, 3, NOW, ScanParams(), FEES) for i in range(3)]
    with pytest.raises(IncompleteScan, match="shard 1 of 3 is missing"):
        merge_shards([parts[0], parts[2]], 3)
    failed = ShardResult(2, 3, error="StoreUnavailable: Redis at redis://x failed to read books")
    with pytest.raises(IncompleteScan, match="shard 2 of 3 failed: StoreUnavailable"):
        merge_shards([parts[0], parts[1], failed], 3)
    with pytest.raises(IncompleteScan, match="answered twice"):
        merge_shards([parts[0], parts[1], parts[2], parts[1]], 3)


# --- each shard decodes only its books ----------------------------------------------------


def test_a_shard_decodes_only_its_symbols_its_exchanges_and_the_usdt_books_of_its_quotes(redis_url, redis_client):
    store = RedisBookStore(redis_url, key_prefix=f"sharded-{uuid.uuid4().hex[:12]}:")
    store.write_books(market(NOW))
    raw = store.read_raw()
    names = [(key, *key) for key in raw]
    owned = []
    for shard in (0, 1):
        mine = {k for k, exchange, symbol in names if shard_of(symbol, 2) == shard or shard_of(exchange, 2) == shard}
        quotes = {symbol.split("-")[1] for _, _, symbol in names if shard_of(symbol, 2) == shard} - {"USDT"}
        converting = {k for k, _, symbol in names if symbol in {f"{quote}-USDT" for quote in quotes}}
        result = scan_shard(raw, shard, 2, NOW, ScanParams(), FEES)
        assert result.decoded == len(mine | converting) < len(raw)
        assert result.hash_size == len(raw)
        owned.append(result.books_total)
    # Every book is counted by exactly one shard.
    assert sum(owned) == len(raw)
    store.close()


# --- the Celery fan-out against real Redis and PostgreSQL ---------------------------------


@pytest.fixture
def redis_mode(settings: Any, redis_url: str, redis_client: Any) -> Iterator[Services]:
    settings.REDIS_URL = redis_url
    settings.SCAN_SHARDS = 2
    # Keys of this test only: other suites may share the test database at the same time.
    settings.BOOK_KEY_PREFIX = f"sharded-{uuid.uuid4().hex[:12]}:"
    settings.FEED_STREAM = f"{settings.BOOK_KEY_PREFIX}feed"
    reset_services()
    services = get_services()
    assert services.shared
    yield services
    reset_services()


@pytest.fixture(autouse=True)
def collector_as_usual() -> None:
    """An in-process Celery worker, here or in another module, runs the scanner's tune_gc()
    on the test process: with the whole pytest heap frozen, every decode_books call walks it
    (gc.get_freeze_count() is linear), ~25 ms a call, which the property test makes 1,500."""
    gc.unfreeze()


@pytest.fixture
def worker(redis_broker: None) -> Iterator[None]:
    with in_process_worker():
        yield


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def dropped_scans() -> float:
    return REGISTRY.get_sample_value("scans_total", {"outcome": "incomplete"}) or 0.0


def scan_finished(services: Services) -> bool:
    return not services.lock.locked()


def episodes() -> dict[str, tuple[Any, ...]]:
    return {
        ep.key: (ep.is_open, ep.times_seen, ep.last_seen, ep.net_edge_pct, ep.buy_vwap, ep.sell_vwap)
        for ep in Episode.objects.all()
    }


@pytest.mark.django_db(transaction=True)
def test_two_shards_on_a_worker_audit_and_publish_what_the_unsharded_scan_finds(
    requires_postgres, redis_mode, worker, redis_client
):
    services = redis_mode
    store = services.store
    store.write_books(market(now_ms()))
    app.send_task("arbitrage.tasks.scan")
    assert wait_for(lambda: Episode.objects.exists() and scan_finished(services)), "the sharded scan recorded nothing"

    scanned_at = Episode.objects.values_list("ts_detected", flat=True).distinct()
    assert len(scanned_at) == 1
    params, fees = load_scan_config()
    whole = scan_books(store.read_all().books, scanned_at[0], params, fees).opportunities
    assert {o.type for o in whole} == {"spatial", "triangular"}
    assert {shard_of(o.symbol, 2) for o in whole if o.type == "spatial"} == {0, 1}, "both shards find something"
    recorded = {
        ep.key: (ep.net_edge_pct, ep.buy_vwap, ep.sell_vwap, ep.optimal_qty, ep.optimal_profit_usdt, ep.risk_flag)
        for ep in Episode.objects.filter(is_open=True)
    }
    expected = {
        o.episode_key: (o.net_edge_pct, o.buy_vwap, o.sell_vwap, o.optimal_qty, o.optimal_profit_usdt, o.risk_flag)
        for o in whole
    }
    assert recorded == expected
    # The feed carries the same opportunities, in the same order, as one message.
    message = services.feed.read(10)
    assert len(message) == 1 and message[0].ts == scanned_at[0]
    # The first scan: every item opens now, at its own edge.
    assert message[0].items == ScanMessage.of(message[0].ts, whole).items
    # The shards' results were dropped from the result backend once merged.
    assert not redis_client.keys("celery-task-meta-*shard*")


@pytest.mark.django_db(transaction=True)
def test_a_failing_shard_leaves_the_audit_and_feed_untouched_and_the_next_scan_runs(
    requires_postgres, redis_mode, worker, monkeypatch
):
    services = redis_mode
    store = services.store
    store.write_books(market(now_ms()))
    app.send_task("arbitrage.tasks.scan")
    assert wait_for(lambda: Episode.objects.exists() and scan_finished(services))
    before = episodes()

    # One shard's engine breaks (the shard owning gate's triangular search).
    real = sharding.find_triangular

    def broken(by_exchange: Any, *args: Any) -> Any:
        if "gate" in by_exchange:
            raise RuntimeError("planted failure")
        return real(by_exchange, *args)

    monkeypatch.setattr(sharding, "find_triangular", broken)
    dropped = dropped_scans()
    store.write_books(market(now_ms()))
    app.send_task("arbitrage.tasks.scan")
    assert wait_for(lambda: dropped_scans() > dropped and scan_finished(services))
    assert episodes() == before
    assert len(services.feed.read(10)) == 1

    monkeypatch.setattr(sharding, "find_triangular", real)
    app.send_task("arbitrage.tasks.scan")
    assert wait_for(lambda: all(times == 2 for _, times, *_ in episodes().values()))
    assert len(services.feed.read(10)) == 2


def in_new_thread(fn: Callable[[], Any]) -> Any:
    """Run `fn` in a thread of its own: Celery keeps one result backend per thread, built
    from the configuration at first use, so a new thread sends with this test's Redis."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return out[0]


@pytest.mark.django_db(transaction=True)
def test_shards_expired_in_the_queue_drop_the_scan_and_free_the_lock(
    requires_postgres, redis_mode, redis_broker, settings
):
    services = redis_mode
    store = services.store
    settings.CELERY_SCAN_TASK_EXPIRES_SEC = 1.0
    store.write_books(market(now_ms()))
    dropped = dropped_scans()
    sent = in_new_thread(lambda: tasks.fan_out(services, 2))
    assert sent["sent"] and not scan_finished(services)
    time.sleep(1.2)  # no worker yet: the shards wait in the queue past their expiry

    with in_process_worker():
        assert wait_for(lambda: dropped_scans() > dropped and scan_finished(services))
        assert not Episode.objects.exists() and services.feed.read(10) == []

        settings.CELERY_SCAN_TASK_EXPIRES_SEC = 10.0
        app.send_task("arbitrage.tasks.scan")
        assert wait_for(lambda: Episode.objects.exists() and scan_finished(services)), "the next scan did not run"
