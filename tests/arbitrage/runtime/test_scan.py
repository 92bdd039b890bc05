"""run_scan(): one coherent slice, audit and feed; it survives Redis or the database going away."""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from arbitrage.models import Episode
from arbitrage.runtime.lock import scan_guard
from arbitrage.runtime.scan import run_scan
from arbitrage.runtime.services import in_memory, on_redis
from tests import free_port
from tests.factories import book, now_ms


def edge_books(ts: int | None = None) -> list:
    return [
        book("binance", "BTC-USDT", bid=99.9, ask=100.0, ts=ts),
        book("okx", "BTC-USDT", bid=101.0, ask=101.1, ts=ts),
    ]


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


@pytest.fixture
def throwaway_redis(tmp_path) -> Iterator[tuple[int, callable, callable]]:
    """A Redis of our own on its own port, which the test may stop and start."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (make test installs it)")
    port = free_port()
    procs: list[subprocess.Popen] = []

    def start() -> None:
        proc = subprocess.Popen(
            [
                server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        )
        procs.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail("throwaway redis did not start")

    def stop() -> None:
        for proc in procs:
            proc.terminate()
            proc.wait(10)

    start()
    yield port, start, stop
    stop()


@pytest.mark.django_db
def test_scan_reports_a_lost_redis_and_resumes_when_it_returns(throwaway_redis):
    port, start, stop = throwaway_redis
    services = on_redis(f"redis://127.0.0.1:{port}/0")
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


@pytest.mark.django_db(transaction=True)
def test_audit_rows_survive_a_database_error_and_are_written_in_order(requires_postgres, settings):
    services = in_memory()
    services.store.write_books(edge_books())
    params = settings.DATABASES["default"]
    # Another session holds the audit table: our writes time out with a real DatabaseError.
    locker = psycopg.connect(
        host=params["HOST"], port=params["PORT"] or 5432, user=params["USER"], dbname=connection.settings_dict["NAME"]
    )
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '300ms'")
    locker.execute(f"LOCK TABLE {Episode._meta.db_table} IN ACCESS EXCLUSIVE MODE")
    t0 = now_ms()
    blocked = run_scan(services=services, now_ms=t0)
    assert not blocked.persisted and any("kept for retry" in e for e in blocked.errors)
    locker.rollback()
    locker.close()

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
