"""The README's "Full mode without Docker", run as written (only the server addresses and
ports are this test's own): the whole stack comes up from `make full`, the dashboard loads
its styled assets and its live table fills in a real browser, a real Prometheus scrapes the
worker's scan metrics, the worker's log lines keep the project's format, and Ctrl-C stops
everything."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from playwright.sync_api import sync_playwright

from tests import REPO, free_port
from tests.live.browser.support import launch_chromium, log_in, require_chromium
from tests.ops.prometheus import local_config, running_prometheus

pytestmark = pytest.mark.slow

README = REPO / "README.md"


def readme_full_mode_script() -> str:
    """The shell block of the README's "Full mode without Docker" section."""
    section = README.read_text().split("### Full mode without Docker", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "the README's full mode has a bash block"
    return match.group(1)


def with_servers(script: str, database_url: str, redis_url: str, port: int, metrics_port: int) -> str:
    """The same commands, pointed at this test's database, Redis and ports."""
    script, found_db = re.subn(r"DATABASE_URL=\S+", f"DATABASE_URL={database_url}", script)
    script, found_redis = re.subn(r"REDIS_URL=\S+", f"REDIS_URL={redis_url}", script)
    script, found_make = re.subn(
        r"^make full$", f'make full FULL_ARGS="--port {port} --metrics-port {metrics_port}"', script, flags=re.M
    )
    assert (found_db, found_redis, found_make) == (1, 1, 1), script
    return script


@pytest.fixture
def database_url(requires_postgres) -> str:  # type: ignore[no-untyped-def]
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/arbscan").rsplit("/", 1)[0]
    name = f"arbscan_full_{uuid.uuid4().hex[:8]}"
    yield f"{base}/{name}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_readme_full_mode_runs_the_live_dashboard_and_prometheus_sees_the_worker(
    database_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    require_chromium()
    port, metrics_port = free_port(), free_port()
    stack_redis = redis_url.rsplit("/", 1)[0] + "/11"
    redis.Redis.from_url(stack_redis).flushdb()
    script = with_servers(readme_full_mode_script(), database_url, stack_redis, port, metrics_port)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "LOG_FORMAT", "DEBUG")
    }
    env["FEE_SYNC_PERIOD_SEC"] = "0"  # beat runs here with no internet: no fee sync
    log_path = tmp_path / "full.log"
    log = log_path.open("wb")
    full = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert full.poll() is None, log_path.read_text()[-4000:]
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()[-4000:]
                time.sleep(0.5)

        # The README's next step: an account (here a trader, for the dashboard).
        shell_env = {**env, "DATABASE_URL": database_url, "REDIS_URL": stack_redis, "SECRET_KEY": uuid.uuid4().hex * 2}
        create = (
            "from django.contrib.auth import get_user_model as g; g().objects.create_user('ana', password='pw-ana-123')"
        )
        made = subprocess.run(
            [str(REPO / ".venv/bin/python"), "manage.py", "shell", "-c", create],
            cwd=REPO,
            env=shell_env,
            capture_output=True,
            text=True,
        )
        assert made.returncode == 0, made.stderr

        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page()
            assets: dict[str, int] = {}
            page.on("response", lambda r: assets.__setitem__(r.url.rsplit("/", 1)[-1], r.status))
            log_in(page, base, "ana", "pw-ana-123")
            page.wait_for_function("document.querySelectorAll('#health tbody tr').length > 0", timeout=60_000)
            first = page.inner_text("#last-scan")
            page.wait_for_function(
                f"document.getElementById('last-scan').textContent !== {json.dumps(first)}", timeout=30_000
            )
            assert assets.get("dashboard.js") == 200 and assets.get("app.css") == 200, assets
            assert page.inner_text("#conn-status") == "live"
            browser.close()

        config = local_config({"worker": f"127.0.0.1:{metrics_port + 1}", "ingest": f"127.0.0.1:{metrics_port + 3}"})
        with running_prometheus(config, tmp_path) as prometheus:
            prometheus.wait_for('sum(scans_total{job="worker"}) > 0')
            prometheus.wait_for('last_scan_timestamp_seconds{job="worker"} > 0')
    finally:
        if full.poll() is None:
            os.killpg(full.pid, signal.SIGINT)
        try:
            full.wait(60)
        finally:
            log.close()
    output = log_path.read_text()
    # Ctrl-C reaches make too, which then reports the interrupt as its own exit status.
    assert full.returncode in (0, -signal.SIGINT), output[-4000:]
    assert "full: stopped" in output
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/healthz", timeout=1)
    # The worker keeps the project's log format (JSON with DEBUG off), extra fields included.
    worker_lines = [line.split("| ", 1)[1] for line in output.splitlines() if line.startswith("worker")]
    scans = [json.loads(line) for line in worker_lines if '"scan done"' in line]
    assert scans and {"books", "used", "found"} <= set(scans[0]), output[-3000:]
