"""`manage.py ingest`: runs into the book store, stops cleanly, refuses bad flags in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from exchanges.models import Exchange, WatchedSymbol
from exchanges.store import BookStore, get_book_store, reset_book_store
from kernel.book import parse_book
from tests import REPO


def fresh_env(tmp_path: Path) -> dict[str, str]:
    """A fresh process's environment: an empty database of its own, embedded mode."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "REDIS_URL": "",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return fresh_env(tmp_path)


def manage(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_manage(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = manage(env, *args)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


@pytest.fixture(params=["memory", "redis"])
def book_store(request: pytest.FixtureRequest, settings: Any) -> Iterator[BookStore]:
    """The store `get_book_store()` hands the command: in-process, or the real Redis (db 15)."""
    if request.param == "redis":
        request.getfixturevalue("redis_client")  # flushes db 15 before and after
        settings.REDIS_URL = request.getfixturevalue("redis_url")
    else:
        settings.REDIS_URL = ""
    reset_book_store()
    store = get_book_store()
    store.clear()
    yield store
    store.clear()
    reset_book_store()


def test_runs_for_the_given_duration_and_writes_every_book(book_store: BookStore) -> None:
    call_command(
        "ingest",
        "--connector=simulated",
        "--symbols=BTC-USDT,ETH-USDT,ETH-BTC",
        "--exchanges=binance,okx,kraken",
        "--interval=0.05",
        "--duration=0.3",
        "--seed=4",
    )
    books = book_store.read_all().books
    assert {(b.exchange, b.symbol) for b in books} == {
        (e, s) for e in ("binance", "okx", "kraken") for s in ("BTC-USDT", "ETH-USDT", "ETH-BTC")
    }
    for book in books:
        assert len(parse_book(book.to_dict()).bids) >= 20


@pytest.mark.django_db
def test_defaults_to_what_admins_enabled(book_store: BookStore) -> None:
    Exchange.objects.exclude(id__in=["bybit", "gemini"]).update(enabled=False)
    WatchedSymbol.objects.exclude(symbol__in=["SOL-USDT", "XRP-USDT"]).update(enabled=False)
    call_command("ingest", "--connector=simulated", "--interval=0.05", "--duration=0.2")
    assert {b.key for b in book_store.read_all().books} == {
        ("bybit", "SOL-USDT"),
        ("bybit", "XRP-USDT"),
        ("gemini", "SOL-USDT"),
        ("gemini", "XRP-USDT"),
    }


@pytest.mark.django_db
def test_an_empty_watchlist_is_a_clear_error() -> None:
    WatchedSymbol.objects.update(enabled=False)
    with pytest.raises(CommandError, match="no enabled symbol"):
        call_command("ingest", "--connector=simulated", "--duration=0.1")


def test_ctrl_c_stops_cleanly_with_exit_code_zero(cli_env: dict[str, str]) -> None:
    process = manage(
        cli_env,
        "ingest",
        "--connector",
        "simulated",
        "--symbols",
        "BTC-USDT",
        "--exchanges",
        "binance",
        "--interval",
        "0.05",
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # blocks until the command says it is running
        seen.append(line)
        if "ingest started" in line:
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    stderr = "".join(seen) + rest
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "ingest stopped" in stderr


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--connector", "simulated", "--bogus"], "unrecognized arguments: --bogus", 2),
        (["--connector", "simulated", "--interval", "soon"], "--interval: expected a number of seconds", 2),
        (["--connector", "simulated", "--duration", "-5"], "--duration: must be a positive number", 2),
        ([], "the following arguments are required: --connector", 2),
        (["--connector", "ccxt", "--ccxt-config", "/nonexistent/ccxt.json"], "cannot read the ccxt config", 1),
        (["--connector", "simulated", "--ccxt-config", "x.json"], "--ccxt-config applies to --connector ccxt only", 1),
        (["--connector", "quantum"], "unknown connector 'quantum'", 1),
        (["--connector", "simulated", "--exchanges", "binanse"], "unknown exchange(s) binanse", 1),
    ],
)
def test_bad_flags_give_one_line_and_a_nonzero_exit(
    cli_env: dict[str, str], args: list[str], message: str, code: int
) -> None:
    returncode, stderr = run_manage(cli_env, "ingest", *args)
    assert returncode == code
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--connector=replay"], "--connector replay needs --file"),
        (["--connector=simulated", "--symbols=BTCUSDT", "--exchanges=okx"], "'BTCUSDT' is not a symbol"),
        (["--connector=simulated", "--symbols=BTC-USDT", "--exchanges=,"], "expected a comma-separated list"),
    ],
)
def test_bad_values_are_refused_before_anything_runs(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("ingest", *args)


def test_an_unmigrated_database_points_at_migrate(cli_env: dict[str, str]) -> None:
    returncode, stderr = run_manage(cli_env, "ingest", "--connector", "simulated")
    assert returncode == 1
    assert "run `manage.py migrate`, or pass both --symbols and --exchanges" in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
