"""`manage.py ingest --processes N`: N supervised children over disjoint shards, a dead child
started again, one Ctrl-C stopping them all."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchanges.connectors.symbols import Shard
from exchanges.ingest_processes import child_argv, child_shards
from exchanges.store import RedisBookStore
from tests import REPO
from tests.exchanges.test_ingest_e2e import env  # noqa: F401  (the fixture: a migrated database, the real Redis)
from tests.fakes.binance import FakeBinance
from tests.fakes.harness import books, fakes_in_thread, ingest_config

SYMBOLS = ["BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "ADA-USDT", "DOGE-USDT"]


def test_children_split_this_hosts_shard_between_them() -> None:
    assert child_shards(None, 2) == [Shard(0, 2), Shard(1, 2)]
    assert child_shards(Shard(1, 3), 2) == [Shard(1, 6), Shard(4, 6)]


@given(st.lists(st.text(min_size=1, max_size=12), max_size=50), st.integers(1, 4), st.integers(1, 5), st.data())
def test_each_symbol_of_the_host_goes_to_exactly_one_child(
    symbols: list[str], hosts: int, processes: int, data: st.DataObject
) -> None:
    host = Shard(data.draw(st.integers(0, hosts - 1)), hosts)
    children = child_shards(host, processes)
    for symbol in symbols:
        owners = [child for child in children if child.owns(symbol)]
        assert len(owners) == (1 if host.owns(symbol) else 0)


def test_a_child_gets_the_users_flags_its_shard_and_its_own_metrics_port() -> None:
    options = {"ccxt_config": "/etc/c.json", "exchanges": ["binance"], "symbols": None, "metrics_port": 9108}
    options |= {"reload_every": 30.0, "flush_interval": 0.01, "duration": None, "progress_every": 10.0}
    assert child_argv(options, Shard(1, 2), 1) == [
        "--connector", "ccxt", "--processes", "1", "--shard", "1/2", "--ccxt-config", "/etc/c.json",
        "--reload-every", "30.0", "--flush-interval", "0.01", "--progress-every", "10.0",
        "--exchanges", "binance", "--metrics-port", "9109",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--connector", "simulated", "--processes", "2"], "--processes applies to --connector ccxt only"),
        (["--connector", "ccxt", "--processes", "0"], "--processes must be at least 1, got 0"),
        (["--connector", "ccxt", "--processes", "2", "--record", "x.jsonl.gz"], "--record writes one file"),
    ],
)
def test_processes_that_cannot_work_are_refused_in_one_line(
    env: dict[str, str],  # noqa: F811
    args: list[str],
    message: str,
) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "ingest", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr


def test_two_children_stream_every_book_a_dead_one_comes_back_and_ctrl_c_stops_all(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
    redis_url: str,
) -> None:
    fake = FakeBinance(books(*((s, "100") for s in SYMBOLS), seed=3))
    with fakes_in_thread([fake]):
        config = tmp_path / "ccxt.json"
        config.write_text(json.dumps(ingest_config([fake])))
        log = tmp_path / "ingest.log"
        with log.open("wb") as sink:
            parent = subprocess.Popen(
                [sys.executable, "manage.py", "ingest", "--connector", "ccxt", "--processes", "2",
                 "--ccxt-config", str(config), "--exchanges", "binance", "--symbols", ",".join(SYMBOLS)],
                cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                store = RedisBookStore(redis_url, "book:")

                def healthy() -> set[str]:
                    return {b.symbol for b in store.read_all().books if b.is_healthy}

                wait_for(lambda: healthy() == set(SYMBOLS), parent, log, "every book from the two children")
                started = children(log)
                assert sorted(started.values()) == ["0/2", "1/2"]

                victim = next(pid for pid, shard in started.items() if shard == "0/2")
                os.kill(victim, signal.SIGKILL)
                wait_for(lambda: "ingest child exited" in log.read_text(), parent, log, "the death noticed")
                wait_for(lambda: len(children(log)) == 3, parent, log, "shard 0/2 started again")
                wait_for(lambda: healthy() == set(SYMBOLS), parent, log, "every book again")
            finally:
                if parent.poll() is None:
                    parent.send_signal(signal.SIGINT)
                parent.wait(timeout=60)
    assert parent.returncode == 0, log.read_text()[-3000:]
    for pid in children(log):
        assert not alive(pid), f"child {pid} outlived the supervisor"
    text = log.read_text()
    assert "ingest supervisor stopped" in text and "Traceback" not in text


def children(log: Path) -> dict[int, str]:
    found = re.findall(r'msg="ingest child started" shard=(\S+) pid=(\d+)', log.read_text())
    return {int(pid): shard for shard, pid in found}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead, just not reaped
        return stat.read().split()[2] != "Z"


def wait_for(condition, process: subprocess.Popen[bytes], log: Path, what: str, limit: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not condition():
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"never happened: {what}\n{log.read_text()[-3000:]}"
        time.sleep(0.1)


def test_with_a_duration_the_children_finish_and_so_does_the_supervisor(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    fake = FakeBinance(books(*((s, "100") for s in SYMBOLS[:2]), seed=4))
    with fakes_in_thread([fake]):
        config = tmp_path / "ccxt.json"
        config.write_text(json.dumps(ingest_config([fake])))
        done = subprocess.run(
            [sys.executable, "manage.py", "ingest", "--connector", "ccxt", "--processes", "2", "--duration", "3",
             "--ccxt-config", str(config), "--exchanges", "binance", "--symbols", ",".join(SYMBOLS[:2])],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("ingest child finished") == 2
    assert "starting it again" not in done.stderr and "Traceback" not in done.stderr
