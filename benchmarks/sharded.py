"""Sharded scan against one process: does splitting a scan across Celery workers pay here?

For 500, 1,000 and 2,000 symbols x 14 exchanges x 20 levels held in the real Redis:
- `run_scan()` in this process, without persistence or publishing (the baseline);
- the same scan split into 2 shards on a real worker (`celery -A config worker
  --concurrency 2 -P prefork`, started here as a subprocess on its own queue and stopped at
  the end): from sending the group of `arbitrage.tasks.scan_shard` tasks to the merged,
  sorted result back in this process, which is what the merge step starts from;
- the two shards one after the other in this process, on one read of the hash: the CPU work
  the split costs (each shard decodes about 3/4 of the hash, see arbitrage.runtime.sharding).

Persistence and publishing are left out of both: the merge records and publishes exactly
as `run_scan` does, at the same cost. The cases take turns in every round, and timings keep
the collector as a scanner process has it (`kernel.gc_tuning.tune_gc`).

What it showed on this 2-core machine (15 runs, the machine otherwise idle): the split pays
from the smallest size measured, 0.82-0.86x of one process's median at 500, 1,000 and 2,000
symbols (2,000: ~690 against ~825 ms). The gain is small and fragile. The split costs ~1.45x
the CPU (each shard reads the whole hash and decodes 3/4 of it), so it only wins while both
cores are free for the two shards: in a run with other work on the machine it measured
1.5x, slower than one process. And one process fits the 5 s interval with room to spare at
2,000 symbols. It breaks even near 200 symbols (measured apart, same way: 1.13x at 100,
0.98x at 200), where the few ms of dispatch and results eat the ~15 %.

On more cores: with n shards each decodes about 2/n - 1/n^2 of the books (n = 4: 44 %,
n = 8: 23 %) and runs 1/n of the engine, so a shard takes about fetch + (2/n - 1/n^2) decode
+ engine / n. With the parts measured apart at 2,000 symbols (fetch ~85 ms, decode ~470,
engine ~230), that is ~360 ms at n = 4 and ~230 ms at n = 8, given n free cores besides
Redis. Beyond a handful of shards the n full reads that Redis serves one after another
(~50 MB each at 2,000 symbols) become the limit: going further takes the hash itself split
by shard (or an HMGET of the needed fields), so that a shard reads only what it decodes.

Run alone: `python -m benchmarks.sharded [REPEAT]`.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast

from benchmarks import Row

if TYPE_CHECKING:
    from arbitrage.runtime.sharding import MergedScan
    from exchanges.store.redis_store import RedisBookStore

ROOT = Path(__file__).resolve().parents[1]
SYMBOL_COUNTS = (500, 1000, 2000)
SHARDS = 2
RESULT_TIMEOUT_SEC = 120.0


def _interleaved(cases: dict[str, Callable[[], object]], repeat: int) -> dict[str, tuple[float, float]]:
    """(min, median) ms of each case, the cases taking turns in every round so that a
    burst of other load on the machine falls on all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(repeat + 1):
        for name, fn in cases.items():
            started = time.perf_counter()
            fn()
            if round_:  # the first round warms up
                samples[name].append((time.perf_counter() - started) * 1000.0)
    return {name: (min(times), statistics.median(times)) for name, times in samples.items()}


@contextmanager
def celery_worker(redis_url: str, key_prefix: str, queue: str) -> Iterator[None]:
    """Two prefork worker processes on `queue` that read books under `key_prefix`."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-secret-key-of-sufficient-length"),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "BOOK_KEY_PREFIX": key_prefix,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "prefork", "--concurrency", "2"]
    command += ["-Q", queue, "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    command += ["--loglevel", "WARNING"]
    # A session of its own: the pool's children are stopped with their parent at the end.
    # Its banner and logs go to a file, shown only if the section fails.
    log = tempfile.NamedTemporaryFile(prefix="bench-sharded-worker-", suffix=".log", delete=False)  # noqa: SIM115
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield
    except BaseException:
        log.flush()
        tail = Path(log.name).read_text(errors="replace").splitlines()[-20:]
        print("benchmarks.sharded: the worker's last log lines:", *tail, sep="\n  ", file=sys.stderr)
        raise
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: finish the task at hand, exit
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        log.close()
        os.unlink(log.name)


def _sharded_scan(queue: str, config: dict[str, object], now_ms: int) -> MergedScan:
    """Send the shards, wait for both, merge: the work a sharded scan does before recording."""
    from celery import group
    from celery.result import GroupResult

    from arbitrage.runtime.sharding import ShardResult, merge_shards
    from arbitrage.tasks import scan_shard

    sent = cast(
        GroupResult,
        group(
            scan_shard.si(shard=shard, shards=SHARDS, now_ms=now_ms, config=config).set(queue=queue)
            for shard in range(SHARDS)
        ).apply_async(),
    )
    try:
        # One by one: each get() wakes on the backend's pub/sub message, where a group's
        # get() polls every 0.5 s (a chord's merge is sent by the last shard, no polling).
        results = [part.get(timeout=RESULT_TIMEOUT_SEC) for part in sent.results or ()]
    finally:
        sent.forget()
    return merge_shards([ShardResult.from_dict(item) for item in results], SHARDS)


def _rows_for(symbols: int, store: RedisBookStore, queue: str, repeat: int) -> list[Row]:
    from arbitrage.engine.scan import scan_books
    from arbitrage.runtime.config import load_config
    from arbitrage.runtime.scan import run_scan
    from arbitrage.runtime.services import get_services
    from arbitrage.runtime.sharding import config_to_wire, scan_shard
    from benchmarks.engine import NOW_MS, synthetic_books

    books = synthetic_books(symbols=symbols)
    store.clear()
    store.write_books(books)
    params, fees = load_config([])
    config = config_to_wire(params, fees)
    size = f"{symbols} sym"

    # The split must find what one process finds, or its timing means nothing.
    whole = scan_books(store.read_all().books, NOW_MS, params, fees)
    merged = _sharded_scan(queue, config, NOW_MS)
    if [o.as_dict() for o in merged.opportunities] != [o.as_dict() for o in whole.opportunities]:
        raise RuntimeError(f"{size}: the sharded scan's opportunities differ from one process's")

    def shards_in_turn() -> list[int]:
        raw = store.read_raw()
        return [scan_shard(raw, shard, SHARDS, NOW_MS, params, fees).decoded for shard in range(SHARDS)]

    decoded = shards_in_turn()
    services = dataclasses.replace(get_services(), store=store)
    timed = _interleaved(
        {
            "one": lambda: run_scan(services=services, now_ms=NOW_MS, persist=False, publish=False),
            "split": lambda: _sharded_scan(queue, config, NOW_MS),
            "serial": shards_in_turn,
        },
        repeat,
    )
    one, split, serial = timed["one"], timed["split"], timed["serial"]
    verdict = "pays" if split[1] < one[1] else "does not pay"
    return [
        Row("sharded", f"{size}: run_scan, one process", *one, repeat, f"{len(books):,} books"),
        Row(
            "sharded",
            f"{size}: {SHARDS} shards on 2 workers",
            *split,
            repeat,
            f"{split[1] / one[1]:.2f}x one process (median): {verdict}; dispatch to merged result",
        ),
        Row(
            "sharded",
            f"{size}: {SHARDS} shards in turn, one process",
            *serial,
            repeat,
            f"CPU cost of the split: {serial[1] / one[1]:.2f}x; shards decode "
            f"{' + '.join(f'{n:,}' for n in decoded)} of {len(books):,} books",
        ),
    ]


def run(repeat: int) -> list[Row]:
    from benchmarks.scan import _setup_django

    _setup_django()
    from config.celery import app
    from exchanges.store.redis_store import RedisBookStore
    from kernel.gc_tuning import tune_gc

    tune_gc()
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    app.conf.update(broker_url=url, result_backend=url)
    run_id = uuid.uuid4().hex[:12]
    prefix, queue = f"bench:{run_id}:", f"bench-sharded-{run_id}"
    store = RedisBookStore(url, key_prefix=prefix, client_name="arbscan-benchmark")
    rows: list[Row] = []
    try:
        with celery_worker(url, prefix, queue):
            for symbols in SYMBOL_COUNTS:
                rows += _rows_for(symbols, store, queue, repeat)
    finally:
        store.clear()
        store.close()
    return rows


if __name__ == "__main__":
    from benchmarks.__main__ import format_table

    print(format_table(run(int(sys.argv[1]) if len(sys.argv) > 1 else 9)))
