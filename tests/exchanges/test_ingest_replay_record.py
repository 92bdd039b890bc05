"""`manage.py ingest --connector replay` and `--record`, as a user runs them: replaying the
shipped sample into the real Redis lets `manage.py scan` find its planted edge; recording
a simulated run writes a gzip JSONL file of its books; bad combinations are one line."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from kernel.book import parse_book_json
from tests.exchanges.test_ingest_command import REPO, fresh_env, run_manage

SAMPLE = REPO / "exchanges" / "fixtures" / "sample_recording.jsonl.gz"


@pytest.fixture
def live_env(tmp_path: Path, redis_url: str, redis_client: redis.Redis) -> dict[str, str]:
    """A fresh process's environment with a migrated database and the real Redis (db 15)."""
    environment = {**fresh_env(tmp_path), "REDIS_URL": redis_url}
    returncode, stderr = run_manage(environment, "migrate", "--no-input")
    assert returncode == 0, stderr
    return environment


def test_a_replayed_sample_fills_redis_and_scan_finds_its_planted_edge(live_env: dict[str, str]) -> None:
    returncode, stderr = run_manage(
        live_env, "ingest", "--connector", "replay", "--file", str(SAMPLE), "--speed", "max", "--duration", "60"
    )
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "replay reached the end of the recording" in stderr and "ingest stopped" in stderr
    # Every one of the sample's updates counted, and the books they coalesced into.
    stopped = next(line for line in stderr.splitlines() if "ingest stopped" in line)
    assert "updates_received=1386" in stopped and "books_written=0" not in stopped, stopped

    scan = subprocess.run(
        # Replayed books are stamped when put; a loaded machine must not make them stale
        # between the two commands: this test is about the replay, not the staleness rule.
        [sys.executable, "manage.py", "scan", "--format", "json", "--stale-after-sec", "600"],
        cwd=REPO,
        env=live_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert scan.returncode == 0, scan.stderr
    spatial = [o for o in json.loads(scan.stdout) if o["type"] == "spatial"]
    assert spatial, scan.stdout + scan.stderr
    assert {(o["symbol"], o["buy_exchange"]) for o in spatial} == {("ETH-USDT", "okx")}
    best = max(o["net_edge_pct"] for o in spatial)
    assert 0.5 < best < 0.7  # the 0.6 % edge planted in the sample


def recorded_books(path: Path) -> list[tuple[str, str]]:
    """The (exchange, symbol) of every line, read with gzip and the canonical parser."""
    with gzip.open(path, "rb") as file:
        return [parse_book_json(line).key for line in file.read().splitlines()]


def test_recording_a_simulated_run_writes_its_books_and_a_second_run_appends(tmp_path: Path) -> None:
    recording = tmp_path / "run.jsonl.gz"
    args = ["ingest", "--connector", "simulated", "--symbols", "BTC-USDT,ETH-BTC", "--exchanges", "okx,kraken"]
    args += ["--interval", "0.1", "--seed", "3", "--record", str(recording)]

    returncode, stderr = run_manage(fresh_env(tmp_path), *args, "--duration", "2")
    assert returncode == 0, stderr
    assert "Traceback" not in stderr and "recording closed" in stderr
    first = recorded_books(recording)
    wanted = {(e, s) for e in ("okx", "kraken") for s in ("BTC-USDT", "ETH-BTC")}
    assert set(first) == wanted
    assert len(first) >= 2 * len(wanted)  # every tick, not only the last books

    returncode, stderr = run_manage(fresh_env(tmp_path), *args, "--duration", "1")
    assert returncode == 0, stderr
    second = recorded_books(recording)
    assert second[: len(first)] == first and len(second) > len(first)


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--connector", "replay"], "--connector replay needs --file", 1),
        (["--connector", "simulated", "--file", str(SAMPLE)], "--file applies to --connector replay only", 1),
        (["--connector", "ccxt", "--loop"], "--loop applies to --connector replay only", 1),
        (["--connector", "replay", "--file", str(SAMPLE), "--speed", "fast"], "--speed: expected a positive", 2),
        (["--connector", "replay", "--file", "/nonexistent/day.jsonl.gz"], "cannot read /nonexistent/day", 1),
        (["--connector", "replay", "--file", str(SAMPLE), "--symbols", "BTC-USDT"], "--symbols does not apply", 1),
        (
            ["--connector", "simulated", "--symbols", "BTC-USDT", "--exchanges", "okx", "--record", "/nonexistent/r"],
            "--record: cannot open /nonexistent/r for recording",
            1,
        ),
    ],
)
def test_bad_replay_and_record_flags_give_one_line_and_a_nonzero_exit(
    tmp_path: Path, args: list[str], message: str, code: int
) -> None:
    returncode, stderr = run_manage(fresh_env(tmp_path), "ingest", *args)
    assert returncode == code, stderr
    assert message in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
