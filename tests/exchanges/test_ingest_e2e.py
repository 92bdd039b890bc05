"""`manage.py ingest --connector ccxt` end to end: a subprocess streams two fake exchanges
(binance, okx) into the real Redis, and `manage.py scan` finds the edge planted between
them. Plus the command's ccxt flags refused in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from exchanges.store import RedisBookStore
from kernel.book import OrderBookSnapshot
from tests import REPO, free_port
from tests.exchanges.connectors.edges import spatial_net_pct
from tests.fakes.binance import FakeBinance
from tests.fakes.harness import books, fakes_in_thread, ingest_config
from tests.fakes.okx import FakeOkx


@pytest.fixture
def env(tmp_path: Path, redis_url: str, redis_client: redis.Redis) -> dict[str, str]:
    """A fresh process's environment: a migrated database of its own and the real Redis."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    return environment


@pytest.fixture
def planted() -> Iterator[tuple[FakeBinance, FakeOkx]]:
    """BTC about 1 % cheaper on okx than on binance; ETH at one price on both. The markets
    keep moving (so the books keep being written) but not within their top 10 levels, where
    a 1,000 USDT trade is filled: the edge is known exactly."""
    binance = FakeBinance(books(("BTC-USDT", "60300"), ("ETH-USDT", "3000"), seed=1), keep_top=10)
    okx = FakeOkx(books(("BTC-USDT", "59700"), ("ETH-USDT", "3000"), seed=2), keep_top=10)
    with fakes_in_thread([binance, okx]):
        yield binance, okx


def test_ingest_streams_two_exchanges_into_redis_and_scan_finds_the_planted_edge(
    env: dict[str, str], planted: tuple[FakeBinance, FakeOkx], tmp_path: Path, redis_url: str
) -> None:
    binance, okx = planted
    config = tmp_path / "ccxt.json"
    config.write_text(json.dumps(ingest_config([binance, okx])))
    metrics_port = free_port()
    ingest = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "ingest",
            "--connector",
            "ccxt",
            "--ccxt-config",
            str(config),
            "--exchanges",
            "binance,okx",
            "--metrics-port",
            str(metrics_port),
            "--progress-every",
            "1",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        store = RedisBookStore(redis_url, "book:")
        wanted = {(e, s) for e in ("binance", "okx") for s in ("BTC-USDT", "ETH-USDT")}
        deadline = time.monotonic() + 60
        while {b.key for b in store.read_all().books if b.is_healthy} != wanted:
            assert ingest.poll() is None, ingest.communicate()[1]
            assert time.monotonic() < deadline, "the books never reached Redis"
            time.sleep(0.1)
        # The watchlist's other symbols are not listed by the fakes: skipped, not fatal.
        assert {b.key for b in store.read_all().books} == wanted

        while 'books_healthy{exchange="binance"} 2.0' not in (exposition := scrape(metrics_port)):
            assert time.monotonic() < deadline, exposition  # the gauges refresh every second
            time.sleep(0.2)
        assert 'md_lag_ms{exchange="okx"}' in exposition and 'md_book_updates_total{exchange="okx"}' in exposition

        # Computed from the exchanges' own books, independently of ingest and the engine.
        expected = spatial_net_pct(truth(okx, "BTC-USDT"), truth(binance, "BTC-USDT"), 1000.0)
        scan = subprocess.run(
            [sys.executable, "manage.py", "scan", "--format", "json"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert scan.returncode == 0, scan.stderr
        found = [
            o
            for o in json.loads(scan.stdout)
            if o["type"] == "spatial" and o["symbol"] == "BTC-USDT" and o["buy_exchange"] == "okx"
        ]
        assert len(found) == 1, scan.stdout + scan.stderr
        assert found[0]["sell_exchange"] == "binance"
        assert found[0]["net_edge_pct"] == pytest.approx(expected, abs=1e-9)
        assert 0.5 < expected < 1.0
        assert not [o for o in json.loads(scan.stdout) if o["symbol"] == "ETH-USDT" and o["type"] == "spatial"]
    finally:
        if ingest.poll() is None:
            ingest.send_signal(signal.SIGINT)
        _, stderr = ingest.communicate(timeout=60)
    assert ingest.returncode == 0, stderr
    assert "Traceback" not in stderr and "ingest stopped" in stderr
    assert "symbols not listed on the exchange are skipped" in stderr


def truth(fake: FakeBinance | FakeOkx, symbol: str) -> OrderBookSnapshot:
    bids, asks = fake.books[symbol].top_floats(10)
    return OrderBookSnapshot(fake.name, symbol, bids, asks, 0, 0)


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def run_manage(env: dict[str, str], *args: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stderr


@pytest.mark.parametrize(
    ("args", "content", "message", "code"),
    [
        (["--shard", "4/4"], None, "--shard: expected i/n with 0 <= i < n", 2),
        (["--metrics-port", "99999"], None, "--metrics-port: expected a port number from 1 to 65535", 2),
        (["--reload-every", "0"], None, "--reload-every: must be a positive number", 2),
        ([], "{not json", "invalid JSON", 1),
        ([], '{"binanse": {}}', "unknown exchange 'binanse'", 1),
        ([], '{"okx": {"urls": []}}', "okx.urls: expected an object", 1),
        ([], '{"connector": {"silence_sec": -1}}', "connector: silence_sec must be > 0", 1),
        ([], '{"kraken": {"connector": {"depth": "25"}}}', "kraken.connector.depth: expected a whole number", 1),
        ([], '{"backoff": {"jitter": 2}}', "backoff: backoff jitter must be in [0, 1)", 1),
    ],
)
def test_bad_ccxt_flags_and_config_files_are_one_line_errors(
    tmp_path: Path, args: list[str], content: str | None, message: str, code: int
) -> None:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "REDIS_URL": "",
    }
    config_args: list[str] = []
    if content is not None:
        config = tmp_path / "ccxt.json"
        config.write_text(content)
        config_args = ["--ccxt-config", str(config)]
    returncode, stderr = run_manage(environment, "ingest", "--connector", "ccxt", *config_args, *args)
    assert returncode == code
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_the_config_file_can_come_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "ccxt.json"
    config.write_text('{"gemini": {"connector": {"batch_size": 0}}}')
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "CCXT_CONFIG_FILE": str(config),
    }
    returncode, stderr = run_manage(environment, "ingest", "--connector", "ccxt")
    assert returncode == 1
    assert f"{config}: gemini.connector: batch_size must be at least 1" in stderr


def test_ingest_streams_public_books_without_the_stored_keys_and_logs_none_even_at_debug(
    env: dict[str, str], planted: tuple[FakeBinance, FakeOkx], tmp_path: Path, redis_url: str
) -> None:
    """Given okx keys, ccxt's load_markets calls a private endpoint (the fake, like a key
    without that permission, refuses it) and the feed never starts: ingest hands ccxt none."""
    key = "hIRx3D0AdTyIrUy_kVdcV2Gu4lXSObBFvL5zpOBDqrU="
    env = {**env, "FIELD_ENCRYPTION_KEY": key, "LOG_LEVEL": "DEBUG"}
    store_them = (
        "from exchanges.models import Exchange, ExchangeCredential as C\n"
        "for name in ('binance', 'okx'):\n"
        "    row = C(exchange=Exchange.objects.get(pk=name))\n"
        "    row.store('MARKER-key-' + name, 'MARKER-secret-' + name, 'MARKER-pass-' + name)\n"
        "    row.save()\n"
    )
    assert run_manage(env, "shell", "-c", store_them)[0] == 0
    config = tmp_path / "ccxt.json"
    config.write_text(json.dumps(ingest_config(planted)))
    # A file, not a pipe: at DEBUG the output fills a pipe's buffer long before the books land.
    output = tmp_path / "ingest.log"
    with output.open("wb") as sink:
        ingest = subprocess.Popen(
            [sys.executable, "manage.py", "ingest", "--connector", "ccxt", "--ccxt-config", str(config),
             "--exchanges", "binance,okx", "--progress-every", "1"],
            cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            store = RedisBookStore(redis_url, "book:")
            deadline = time.monotonic() + 60
            while len([b for b in store.read_all().books if b.is_healthy]) < 4:
                assert ingest.poll() is None, output.read_text()[-3000:]
                assert time.monotonic() < deadline, "the books never reached Redis"
                time.sleep(0.1)
        finally:
            if ingest.poll() is None:
                ingest.send_signal(signal.SIGINT)
            ingest.wait(timeout=60)
    logged = output.read_text()
    assert "level=debug" in logged, "the run did log at DEBUG"
    assert "MARKER" not in logged
