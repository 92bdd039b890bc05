"""The periodic fee sync: beat sends it every FEE_SYNC_PERIOD_SEC (not at all at 0), and the
task runs the real `sync_fees` per enabled exchange against fake binance and okx REST
servers: an admin's row is kept, and an exchange that fails (its server down, or a bug) is
logged by name and does not stop the others."""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import orjson
import pytest
from celery import Celery
from django.core.management import call_command as real_call_command
from django.db import OperationalError

from config.celery import setup_periodic_tasks
from exchanges import tasks
from exchanges.models import Exchange, WithdrawalFee
from tests import REPO
from tests.exchanges.test_sync_fees import BINANCE, OKX
from tests.fakes.rest_fees import BinanceFees, OkxFees, serving


def beat_schedule() -> dict[str, Any]:
    app = Celery("probe", set_as_current=False)
    setup_periodic_tasks(app)
    return dict(app.conf.beat_schedule)


def test_beat_runs_the_fee_sync_at_the_configured_period(settings: Any) -> None:
    settings.FEE_SYNC_PERIOD_SEC = 120.0
    entry = beat_schedule()["fee sync"]
    assert entry["task"] == "exchanges.tasks.sync_fees" and entry["schedule"] == 120.0
    # A run still queued when the next one is due is dropped, not piled up.
    assert entry["options"]["expires"] == 120.0


def test_a_period_of_0_schedules_no_fee_sync(settings: Any) -> None:
    settings.FEE_SYNC_PERIOD_SEC = 0
    schedule = beat_schedule()
    assert "fee sync" not in schedule and "scan" in schedule


_BEAT_OF_A_FRESH_PROCESS = """
import json, django
django.setup()
from config.celery import app
app.finalize()
print(json.dumps({name: entry["schedule"] for name, entry in app.conf.beat_schedule.items() if name == "fee sync"}))
"""


@pytest.mark.parametrize(("environment", "expected"), [({}, {"fee sync": 3600.0}), ({"FEE_SYNC_PERIOD_SEC": "0"}, {})])
def test_the_period_comes_from_the_environment_hourly_by_default(environment: dict[str, str], expected: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FEE_SYNC_PERIOD_SEC"}
    env.update(DJANGO_SETTINGS_MODULE="config.test_settings", **environment)
    done = subprocess.run(
        [sys.executable, "-c", _BEAT_OF_A_FRESH_PROCESS], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == expected


# --- the task, against fake exchanges -------------------------------------------------------


class Fakes:
    def __init__(self) -> None:
        self.binance = BinanceFees(copy.deepcopy(BINANCE))
        self.okx = OkxFees(copy.deepcopy(OKX))


@pytest.fixture
def fakes(tmp_path: Path, settings: Any, db: None) -> Iterator[Fakes]:
    """binance and okx on fake servers, named by CCXT_CONFIG_FILE (as beat's worker finds
    them); every other exchange disabled: the task must ask nothing on the internet."""
    made = Fakes()
    Exchange.objects.exclude(id__in=["binance", "okx"]).update(enabled=False)
    with serving(made.binance, made.okx) as config:
        path = tmp_path / "ccxt.json"
        path.write_bytes(orjson.dumps(config))
        settings.CCXT_CONFIG_FILE = str(path)
        yield made


def rows(exchange: str) -> dict[tuple[str, str], tuple[Decimal, bool]]:
    return {(r.asset, r.network): (r.fee, r.set_by_admin) for r in WithdrawalFee.objects.filter(exchange_id=exchange)}


def test_the_task_syncs_every_enabled_exchange_and_keeps_what_an_admin_set(fakes: Fakes) -> None:
    WithdrawalFee.objects.create(exchange_id="okx", asset="BTC", network="BTC", fee="0.0009", set_by_admin=True)
    before = WithdrawalFee.objects.get(exchange_id="okx", asset="BTC", network="BTC").updated_at

    result = tasks.sync_fees.apply().get()

    assert result == {"synced": ["binance", "okx"], "failed": {}}
    assert len(rows("binance")) == 6 and rows("binance")[("BTC", "BTC")] == (Decimal("0.0002"), False)
    assert rows("okx")[("BTC", "BTC")] == (Decimal("0.0009"), True)  # the admin's value, untouched
    assert WithdrawalFee.objects.get(exchange_id="okx", asset="BTC", network="BTC").updated_at == before
    assert rows("okx")[("ETH", "ERC20")] == (Decimal("0.0015"), False)  # the rest of okx is synced
    assert Exchange.objects.get(pk="okx").taker_fee_bps == Decimal("8")


def test_an_exchange_that_fails_is_logged_and_the_others_are_still_synced(
    fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    fakes.binance.fail(500)  # asked first: what follows it must still run

    with caplog.at_level(logging.INFO):
        result = tasks.sync_fees.apply().get()

    assert result["synced"] == ["okx"] and list(result["failed"]) == ["binance"]
    assert "binance: cannot load markets" in result["failed"]["binance"]
    assert not rows("binance") and len(rows("okx")) == 5
    (skipped,) = [r for r in caplog.records if r.getMessage() == "fee sync: exchange not synced"]
    assert skipped.exchange == "binance" and skipped.levelno == logging.WARNING  # type: ignore[attr-defined]
    (done,) = [r for r in caplog.records if r.getMessage() == "fee sync finished"]
    assert (done.synced, done.failed) == (1, "binance")  # type: ignore[attr-defined]


def test_a_crash_in_one_exchange_is_logged_with_its_name_and_never_reaches_the_worker(
    fakes: Fakes, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crashing_on_binance(name: str, *args: Any, **kwargs: Any) -> Any:
        if "binance" in args:
            raise RuntimeError("a bug")
        return real_call_command(name, *args, **kwargs)

    monkeypatch.setattr(tasks, "call_command", crashing_on_binance)

    result = tasks.sync_fees.apply()

    assert result.successful()
    assert result.get() == {"synced": ["okx"], "failed": {"binance": "RuntimeError: a bug"}}
    (crash,) = [r for r in caplog.records if r.getMessage() == "fee sync crashed"]
    assert crash.exchange == "binance" and crash.exc_info is not None  # type: ignore[attr-defined]
    assert len(rows("okx")) == 5


def test_with_no_enabled_exchange_the_task_does_nothing(db: None) -> None:
    Exchange.objects.update(enabled=False)
    assert tasks.sync_fees.apply().get() == {"synced": [], "failed": {}}


def test_the_command_still_works_for_an_operator_after_the_task(fakes: Fakes) -> None:
    """The task and `manage.py sync_fees` are one code path: a manual run after a periodic
    one finds nothing to change."""
    tasks.sync_fees_now()
    out = StringIO()
    real_call_command("sync_fees", stdout=out)
    assert "created 0, updated 0, unchanged 11" in out.getvalue()


def test_a_database_that_is_down_skips_the_run_with_a_log(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Down:
        @staticmethod
        def filter(**kwargs: Any) -> Any:
            raise OperationalError("connection refused\nis the server running?")

    monkeypatch.setattr(tasks.Exchange, "objects", Down())

    result = tasks.sync_fees.apply()

    assert result.successful()
    assert result.get()["error"] == "cannot read the exchanges: OperationalError: connection refused"
    (skipped,) = [r for r in caplog.records if r.getMessage() == "fee sync skipped"]
    assert skipped.levelno == logging.ERROR


def test_a_sync_that_finds_a_row_unchanged_confirms_it_so_its_age_is_the_syncs(fakes: Fakes) -> None:
    tasks.sync_fees.apply().get()
    row = WithdrawalFee.objects.get(exchange_id="binance", asset="BTC", network="BTC")
    WithdrawalFee.objects.filter(pk=row.pk).update(updated_at=row.updated_at - timedelta(days=3))
    tasks.sync_fees.apply().get()
    again = WithdrawalFee.objects.get(pk=row.pk)
    assert again.fee == row.fee and again.updated_at >= row.updated_at
