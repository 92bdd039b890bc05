"""The whole scan as production runs it: `run_scan()` over 14 x N x 20 books held in the real
Redis, against the read floor (one HGETALL, and fetch + decode), without and with
persistence (episodes in PostgreSQL) and publishing (stream + channel layer).

Timings keep the collector as production has it (see `kernel.gc_tuning.tune_gc`), not
switched off, so the numbers are what a worker pays.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
import uuid
from collections.abc import Callable
from functools import partial

from benchmarks import Row

SYMBOL_COUNTS = (100, 500, 1000, 2000)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-of-sufficient-length")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        _create_database_if_missing(connection.settings_dict)
    call_command("migrate", verbosity=0, interactive=False)


def _create_database_if_missing(params: dict[str, object]) -> None:
    import psycopg

    name = str(params["NAME"])
    with psycopg.connect(
        host=str(params["HOST"] or "127.0.0.1"),
        port=int(str(params["PORT"] or 5432)),
        user=str(params["USER"] or "postgres"),
        password=str(params["PASSWORD"] or ""),
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(f'create database "{name}"')


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000.0)
    return min(samples), statistics.median(samples)


def run(repeat: int) -> list[Row]:
    _setup_django()
    from django.db import connection

    from arbitrage.models import Episode
    from arbitrage.runtime.scan import run_scan
    from arbitrage.runtime.services import get_services
    from benchmarks.engine import NOW_MS, synthetic_books
    from exchanges.store.redis_store import RedisBookStore
    from kernel.gc_tuning import tune_gc

    tune_gc()
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    rows: list[Row] = []
    for symbols in SYMBOL_COUNTS:
        books = synthetic_books(symbols=symbols)
        store = RedisBookStore(url, key_prefix=f"bench:{uuid.uuid4().hex}:", client_name="arbscan-benchmark")
        try:
            store.write_books(books)
            label = f"{len(books):,} books"
            services = dataclasses.replace(get_services(), store=store)
            fetch = _timed(store.read_raw, repeat)
            floor = _timed(store.read_all, repeat)
            bare = _timed(partial(run_scan, services=services, now_ms=NOW_MS, persist=False, publish=False), repeat)
            rows.append(Row("scan", f"{symbols} sym: fetch (one HGETALL)", *fetch, repeat, label))
            rows.append(Row("scan", f"{symbols} sym: fetch + decode (floor)", *floor, repeat, label))
            rows.append(
                Row(
                    "scan",
                    f"{symbols} sym: run_scan, no persist/publish",
                    *bare,
                    repeat,
                    f"{bare[1] / floor[1]:.2f}x floor (median)",
                )
            )
            if symbols == 500:
                report = run_scan(services=services, now_ms=NOW_MS)
                full = _timed(partial(run_scan, services=services, now_ms=NOW_MS), repeat)
                rows.append(
                    Row(
                        "scan",
                        f"{symbols} sym: run_scan + persist + publish",
                        *full,
                        repeat,
                        f"{report.opportunities} opportunities, {connection.vendor}; {full[1] / floor[1]:.2f}x floor",
                    )
                )
        finally:
            store.clear()
            store.close()
    Episode.objects.all().delete()
    return rows
