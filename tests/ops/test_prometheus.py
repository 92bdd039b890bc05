"""Metrics from every process, as Prometheus sees them: promtool accepts deploy/prometheus/,
and a real Prometheus scraping a running worker (with its process pool), beat, ingest
(against fake exchanges), the bot (against a fake Telegram) and the web process finds
every metric the Grafana dashboard draws, the recording rules included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis

from tests import REPO, free_port
from tests.fakes.binance import FakeBinance
from tests.fakes.harness import books, fakes_in_thread, ingest_config
from tests.fakes.okx import FakeOkx
from tests.fakes.telegram import TOKEN, fake_telegram
from tests.ops.prometheus import DEPLOY, binary, dashboard_metrics, local_config, running_prometheus

pytestmark = pytest.mark.slow


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("promtool"), *args], capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_rules() -> None:
    checked = promtool("check", "rules", str(DEPLOY / "rules.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 9 rules found" in checked.stdout


def test_promtool_accepts_the_compose_scrape_config(tmp_path: Path) -> None:
    # The config names the token file the compose secret mounts; promtool wants it to exist.
    config = (DEPLOY / "prometheus.yml").read_text().replace("/run/secrets/metrics_token", str(tmp_path / "token"))
    (tmp_path / "token").write_text("scraper-token")
    (tmp_path / "rules.yml").write_text((DEPLOY / "rules.yml").read_text())
    (tmp_path / "prometheus.yml").write_text(config)
    checked = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture
def stack_env(tmp_path: Path, redis_url: str, redis_client: redis.Redis) -> dict[str, str]:
    """A migrated database of the stack's own, the suite's Redis, scans every second."""
    base = redis_url.rsplit("/", 1)[0]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'stack.sqlite3'}",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": f"{base}/12",
        "CELERY_RESULT_BACKEND": f"{base}/12",
        "METRICS_TOKEN": "scraper-token",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "PYTHONUNBUFFERED": "1",
        "FEE_SYNC_PERIOD_SEC": "0",  # beat runs here with no internet: no fee sync
    }
    redis.Redis.from_url(f"{base}/12").flushdb()
    settle = "from arbitrage.models import ScannerSettings as S\ns = S.current(); s.scan_interval_sec = 1; s.save()\n"
    for args in (["migrate", "--no-input"], ["shell", "-c", settle]):
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return env


class Stack:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = (self.tmp_path / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{(self.tmp_path / f'{name}.log').read_text()[-1500:]}" for name in self.procs)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    yield running
    running.stop()


def test_prometheus_scrapes_every_process_and_finds_every_metric_the_dashboard_draws(
    stack_env: dict[str, str], stack: Stack, tmp_path: Path
) -> None:
    python = sys.executable
    ports = {name: free_port() for name in ("api", "worker", "beat", "ingest", "bot")}
    multiproc = tmp_path / "metrics"
    with ExitStack() as context:
        binance = FakeBinance(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000"), seed=1))
        okx = FakeOkx(books(("BTC-USDT", "60300"), ("ETH-USDT", "3001"), seed=2))
        context.enter_context(fakes_in_thread([binance, okx]))
        telegram = context.enter_context(fake_telegram())
        config = tmp_path / "ccxt.json"
        config.write_text(json.dumps(ingest_config([binance, okx])))
        env = {**stack_env, "TELEGRAM_API_URL": telegram.base_url}

        stack.start("api", [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(ports["api"]),
                            "config.asgi:application"], env)  # fmt: skip
        stack.start(
            "worker",
            [python, "-m", "celery", "-A", "config", "worker", "-l", "info", "-c", "2", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            {**env, "METRICS_PORT": str(ports["worker"]), "PROMETHEUS_MULTIPROC_DIR": str(multiproc)},
        )  # fmt: skip
        stack.start("beat", [python, "-m", "celery", "-A", "config", "beat", "-l", "info"],
                    {**env, "METRICS_PORT": str(ports["beat"])})  # fmt: skip
        stack.start(
            "ingest",
            [python, "manage.py", "ingest", "--connector", "ccxt", "--ccxt-config", str(config),
             "--exchanges", "binance,okx", "--symbols", "BTC-USDT,ETH-USDT"],
            {**env, "METRICS_PORT": str(ports["ingest"])},
        )  # fmt: skip
        stack.start("bot", [python, "manage.py", "telegram_bot"], {**env, "METRICS_PORT": str(ports["bot"])})
        telegram.push_text(42, "/help")

        targets = {job: f"127.0.0.1:{port}" for job, port in ports.items()}
        prometheus_config = local_config(targets).replace(
            "  - job_name: api\n",
            f"  - job_name: api\n    authorization:\n      credentials: {env['METRICS_TOKEN']}\n",
        )
        with running_prometheus(prometheus_config, tmp_path) as prometheus:
            try:
                # Scans counted in the worker's pool processes, served by the worker.
                prometheus.wait_for('sum(scans_total{job="worker"}) >= 3', limit_sec=90)
                prometheus.wait_for('sum(md_book_updates_total{job="ingest"}) > 0')
                prometheus.wait_for('beat_leader{job="beat"} == 1')
                prometheus.wait_for('telegram_bot_commands_total{job="bot", command="help"} >= 1')
                prometheus.wait_for("opportunities_detected_per_minute")
                prometheus.wait_for("scan_duration_seconds:p95")
                assert prometheus.wait_for('up{job="api"} == 1')
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{stack.logs()}") from None
            missing = dashboard_metrics() - prometheus.names()
            assert not missing, f"dashboard panels read metrics nobody exports: {sorted(missing)}"
            # Every process answered its scrape.
            assert {r["metric"]["job"] for r in prometheus.query("up == 1")} == set(ports)
