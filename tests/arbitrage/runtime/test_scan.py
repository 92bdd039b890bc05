"""run_scan(): one coherent slice, audit and feed; it survives Redis or the database going away."""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from prometheus_client import REGISTRY

from arbitrage.models import Episode, ScanRecord
from arbitrage.runtime.lock import scan_guard
from arbitrage.runtime.scan import run_scan
from arbitrage.runtime.services import in_memory, on_redis
from tests.factories import book, edge_books, now_ms


@pytest.mark.django_db
def test_a_scan_audits_and_publishes_what_it_finds():
    services = in_memory()
    services.store.write_books(edge_books())
    report = run_scan(services=services)
    assert report.ok and report.persisted and report.published
    assert report.opportunities >= 1
    assert Episode.objects.filter(buy_exchange="binance", sell_exchange="okx", is_open=True).exists()
    message = services.feed.read(1)[-1].as_dict()
    assert message["type"] == "opportunities" and message["ts"] == report.ts
    assert {item["buy_exchange"] for item in message["items"]} == {"binance"}


@pytest.mark.django_db
def test_stale_books_are_left_out_of_the_slice():
    services = in_memory()
    services.store.write_books(edge_books(ts=now_ms() - 60_000))
    report = run_scan(services=services)
    assert report.books_total == 2 and report.books_used == 0 and report.opportunities == 0


def test_a_second_scan_is_refused_while_one_runs():
    lock = in_memory().lock
    with scan_guard(lock) as first, scan_guard(lock) as second:
        assert (first, second) == (True, False)
    with scan_guard(lock) as again:
        assert again


@pytest.mark.django_db
def test_scan_reports_a_lost_redis_and_resumes_when_it_returns(throwaway_redis):
    port, start, stop = throwaway_redis.port, throwaway_redis.start, throwaway_redis.stop
    services = on_redis(throwaway_redis.url)
    store = services.store
    store.write_books(edge_books())
    assert run_scan(services=services).ok

    stop()
    down = run_scan(services=services)
    assert not down.ok and down.books_total == 0
    assert any(f"127.0.0.1:{port}" in error for error in down.errors)

    start()  # an empty Redis again: the connector refills it
    store.write_books(edge_books())
    back = run_scan(services=services)
    assert back.ok and back.opportunities >= 1


@contextmanager
def episodes_locked() -> Iterator[None]:
    """Another session holds the episode table: the audit's writes fail with a real
    DatabaseError after 300 ms (on every connection the scan opens meanwhile)."""
    params = connection.settings_dict
    options = params.setdefault("OPTIONS", {})
    saved = options.get("options")
    options["options"] = "-c lock_timeout=300"
    connection.close()
    locker = psycopg.connect(
        host=params["HOST"], port=params["PORT"] or 5432, user=params["USER"], dbname=params["NAME"]
    )
    locker.execute(f"LOCK TABLE {Episode._meta.db_table} IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:  # a failing assertion must not leave the table locked for the teardown
        locker.rollback()
        locker.close()
        if saved is None:
            options.pop("options", None)
        else:
            options["options"] = saved
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_audit_rows_survive_a_database_error_and_are_written_in_order(requires_postgres):
    services = in_memory()
    services.store.write_books(edge_books())
    t0 = now_ms()
    with episodes_locked():
        blocked = run_scan(services=services, now_ms=t0)
    assert not blocked.persisted and blocked.audit_pending == 1
    assert any("1 scan(s) wait in the audit log" in e for e in blocked.errors)

    services.store.write_books(edge_books())
    recovered = run_scan(services=services, now_ms=t0 + 5000)
    assert recovered.persisted and recovered.ok
    episode = Episode.objects.get(buy_exchange="binance", sell_exchange="okx")
    # Both scans are in the audit: the one that failed first, then the one that succeeded.
    assert episode.times_seen == 2
    assert int(episode.first_seen.timestamp() * 1000) == t0


def test_scans_on_two_workers_sharing_redis_never_overlap(redis_url, redis_client):
    worker_a, worker_b = on_redis(redis_url).lock, on_redis(redis_url).lock
    with scan_guard(worker_a) as first, scan_guard(worker_b) as second:
        assert (first, second) == (True, False)
    with scan_guard(worker_b) as later:
        assert later


@pytest.mark.django_db
def test_a_scan_with_no_usable_book_is_degraded_not_ok():
    services = in_memory()
    empty = run_scan(services=services)
    assert not empty.ok and empty.degraded_reason == "no book in the store: is ingest running?"
    services.store.write_books(edge_books(ts=now_ms() - 60_000))
    stale = run_scan(services=services)
    assert not stale.ok and stale.degraded_reason.startswith("no usable book of 2: 2 stale")
    status = services.feed.status()
    assert status is not None and status.degraded and status.degraded_since == empty.ts
    record = ScanRecord.objects.get(pk=stale.ts)
    assert record.degraded and record.books_stale == 2
    assert REGISTRY.get_sample_value("scan_degraded") == 1.0

    services.store.write_books(edge_books())
    healthy = run_scan(services=services)
    assert healthy.ok and not healthy.degraded
    status = services.feed.status()
    assert status is not None and not status.degraded and status.degraded_since is None
    assert REGISTRY.get_sample_value("scan_degraded") == 0.0


@pytest.mark.django_db
def test_most_books_unusable_is_degraded_too():
    services = in_memory()
    now = now_ms()
    services.store.write_books([*edge_books(), *(book("kraken", f"S{i}-USDT", healthy=False) for i in range(3))])
    report = run_scan(services=services, now_ms=now)
    assert report.degraded_reason.startswith("most books unusable, 2 used of 5")
    assert report.books_unhealthy == 3


@pytest.mark.django_db(transaction=True)
def test_a_worker_dying_during_a_database_outage_loses_no_scan(requires_postgres, redis_url, redis_client):
    """Worker A scans twice while the episode table is locked (its audits cannot be
    written), then dies; worker B, sharing Redis, scans once the database is back: all
    three scans are in the audit, in order."""
    prefix = f"outage-{now_ms()}:"
    worker_a = on_redis(redis_url, key_prefix=prefix, feed_stream=f"{prefix}feed")
    worker_a.store.write_books(edge_books())
    t0 = now_ms()
    with episodes_locked():
        first = run_scan(services=worker_a, now_ms=t0)
        second = run_scan(services=worker_a, now_ms=t0 + 5000)
    assert (first.persisted, second.persisted, second.audit_pending) == (False, False, 2)
    worker_a.store.close()  # worker A is gone: nothing of it survives but what Redis holds

    worker_b = on_redis(redis_url, key_prefix=prefix, feed_stream=f"{prefix}feed")
    worker_b.store.write_books(edge_books(ts=t0 + 10_000))
    third = run_scan(services=worker_b, now_ms=t0 + 10_000)
    assert third.persisted and third.audit_pending == 0
    assert list(ScanRecord.objects.order_by("id").values_list("id", "status")) == [
        (t0, "applied"),
        (t0 + 5000, "applied"),
        (t0 + 10_000, "applied"),
    ]
    episode = Episode.objects.get(buy_exchange="binance", sell_exchange="okx")
    assert episode.times_seen == 3 and int(episode.first_seen.timestamp() * 1000) == t0
