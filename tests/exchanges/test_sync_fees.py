"""`manage.py sync_fees` against fake binance and okx REST servers speaking their real JSON,
driven by the unchanged ccxt code with only URLs and test keys configured."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from pathlib import Path

import orjson
import pytest
from django.core.management import CommandError, call_command

from exchanges.models import Exchange, WithdrawalFee
from tests import REPO
from tests.fakes.rest_fees import BinanceFees, Chain, OkxFees, PublishedFees, serving

USDT_ERC20 = "0xdAC17F958D2ee523a2206206994597C13D831ec7"
BINANCE = PublishedFees(
    taker={"BTCUSDT": "0.00075", "ETHUSDT": "0.00075", "ETHBTC": "0.0009"},
    chains={
        "BTC": [Chain("BTC", "0.0002", default=True), Chain("BSC", "0.0000049")],
        "ETH": [Chain("ETH", "0.0012", default=True), Chain("ARBITRUM", "0.0001", withdraw=False)],
        "USDT": [Chain("ETH", "4.5", default=True, contract=USDT_ERC20), Chain("TRX", "1", deposit=False)],
    },
)
OKX = PublishedFees(
    taker={"BTC-USDT": "0.0008"},
    chains={
        "BTC": [Chain("BTC-Bitcoin", "0.0001", default=True)],
        "ETH": [Chain("ETH-ERC20", "0.0015", default=True), Chain("ETH-Arbitrum One", "0.0001", withdraw=False)],
        "USDT": [
            Chain("USDT-ERC20", "3", default=True, contract=USDT_ERC20),
            Chain("USDT-TRC20", "1.5", deposit=False),
        ],
    },
)

pytestmark = pytest.mark.django_db


class Fakes:
    def __init__(self, tmp_path: Path) -> None:
        self.binance = BinanceFees(copy.deepcopy(BINANCE))
        self.okx = OkxFees(copy.deepcopy(OKX))
        self.config_file = tmp_path / "ccxt.json"

    def sync(self, *flags: str) -> str:
        out = StringIO()
        call_command(
            "sync_fees", "--exchanges", "binance,okx", "--ccxt-config", str(self.config_file), *flags, stdout=out
        )
        return out.getvalue()


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[Fakes]:
    made = Fakes(tmp_path)
    with serving(made.binance, made.okx) as config:
        made.config_file.write_bytes(orjson.dumps(config))
        yield made


def fees(exchange: str) -> dict[tuple[str, str], tuple[Decimal, bool, bool, bool]]:
    return {
        (row.asset, row.network): (row.fee, row.withdrawals_enabled, row.deposits_enabled, row.set_by_admin)
        for row in WithdrawalFee.objects.filter(exchange_id=exchange)
    }


def test_taker_and_withdrawal_fees_are_filled_from_both_exchanges(fakes: Fakes) -> None:
    summary = fakes.sync()
    # binance: the highest taker fee of the watched markets; okx: its one market's, sign flipped
    assert Exchange.objects.get(pk="binance").taker_fee_bps == Decimal("9")
    assert Exchange.objects.get(pk="okx").taker_fee_bps == Decimal("8")
    assert fees("binance") == {
        ("BTC", "BTC"): (Decimal("0.0002"), True, True, False),
        ("BTC", "BEP20"): (Decimal("0.0000049"), True, True, False),
        ("ETH", "ERC20"): (Decimal("0.0012"), True, True, False),
        ("ETH", "ARBITRUM"): (Decimal("0.0001"), False, True, False),
        ("USDT", "ERC20"): (Decimal("4.5"), True, True, False),
        ("USDT", "TRC20"): (Decimal("1"), True, False, False),
    }
    assert fees("okx") == {
        ("BTC", "BTC"): (Decimal("0.0001"), True, True, False),
        ("ETH", "ERC20"): (Decimal("0.0015"), True, True, False),
        ("ETH", "ARBITRUM"): (Decimal("0.0001"), False, True, False),
        ("USDT", "ERC20"): (Decimal("3"), True, True, False),
        ("USDT", "TRC20"): (Decimal("1.5"), True, False, False),
    }
    assert summary.strip() == (
        "sync_fees: 2 of 2 exchange(s) synced; taker fees updated 2, kept as set by admin 0; "
        "withdrawal fees created 11, updated 0, unchanged 0, kept as set by admin 0"
    )
    # the private endpoints were really asked (signed), not skipped
    assert "/sapi/v1/asset/tradeFee" in fakes.binance.requests
    assert "/api/v5/account/trade-fee" in fakes.okx.requests


def test_contract_addresses_are_kept_when_published_in_full(fakes: Fakes) -> None:
    fakes.sync()
    contracts = {(row.exchange_id, row.asset, row.network): row.contract for row in WithdrawalFee.objects.all()}
    assert contracts[("binance", "USDT", "ERC20")] == USDT_ERC20
    assert contracts[("binance", "BTC", "BTC")] == ""  # the chain's own coin
    # okx shows the address's last six characters only: unknown, not a different coin.
    assert contracts[("okx", "USDT", "ERC20")] == ""


def test_a_second_run_changes_nothing_and_a_changed_fee_is_updated(fakes: Fakes) -> None:
    fakes.sync()
    assert "created 0, updated 0, unchanged 11" in fakes.sync()
    fakes.binance.published.chains["BTC"][0] = Chain("BTC", "0.00015", withdraw=False, default=True)
    assert "created 0, updated 1, unchanged 10" in fakes.sync()
    assert fees("binance")[("BTC", "BTC")] == (Decimal("0.00015"), False, True, False)


def test_values_an_admin_set_are_kept_and_force_overwrites_them(fakes: Fakes) -> None:
    Exchange.objects.filter(pk="binance").update(taker_fee_bps=Decimal("7.5"), fee_set_by_admin=True)
    WithdrawalFee.objects.create(exchange_id="binance", asset="BTC", network="BTC", fee="0.0005", set_by_admin=True)

    summary = fakes.sync()
    binance = Exchange.objects.get(pk="binance")
    assert (binance.taker_fee_bps, binance.fee_set_by_admin) == (Decimal("7.5"), True)
    assert fees("binance")[("BTC", "BTC")] == (Decimal("0.0005"), True, True, True)
    assert fees("binance")[("ETH", "ERC20")] == (Decimal("0.0012"), True, True, False)  # the rest is synced
    assert "taker fees updated 1, kept as set by admin 1" in summary
    assert "created 10, updated 0, unchanged 0, kept as set by admin 1" in summary

    summary = fakes.sync("--force")
    binance = Exchange.objects.get(pk="binance")
    assert (binance.taker_fee_bps, binance.fee_set_by_admin) == (Decimal("9"), False)
    assert fees("binance")[("BTC", "BTC")] == (Decimal("0.0002"), True, True, False)
    assert "updated 1, unchanged 10, kept as set by admin 0" in summary


def test_a_failing_exchange_is_reported_and_the_others_still_synced(
    fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    fakes.okx.fail(500)
    out = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("sync_fees", "--exchanges", "okx,binance", "--ccxt-config", str(fakes.config_file), stdout=out)
    # okx answers 500 with its code 50001, which ccxt reads as maintenance
    assert str(failure.value).startswith("1 of 2 exchange(s) not synced: okx: cannot load markets: OnMaintenance")
    assert out.getvalue().startswith("sync_fees: 1 of 2 exchange(s) synced, failed: okx; taker fees updated 1")
    assert Exchange.objects.get(pk="binance").taker_fee_bps == Decimal("9")
    assert Exchange.objects.get(pk="okx").taker_fee_bps == Decimal("10")  # untouched
    assert not fees("okx") and len(fees("binance")) == 6
    synced = [r for r in caplog.records if r.getMessage() == "fees synced"]
    assert [r.exchange for r in synced] == ["binance"]  # type: ignore[attr-defined]
    (failed,) = [r for r in caplog.records if r.getMessage() == "fee sync failed"]
    assert failed.exchange == "okx"  # type: ignore[attr-defined]


def test_without_api_keys_the_exchange_says_what_is_missing(fakes: Fakes) -> None:
    config = orjson.loads(fakes.config_file.read_bytes())
    del config["binance"]["apiKey"], config["binance"]["secret"]
    fakes.config_file.write_bytes(orjson.dumps(config))
    with pytest.raises(CommandError, match=r"binance: nothing published: trading fees: AuthenticationError: .*apiKey"):
        fakes.sync()
    assert Exchange.objects.get(pk="okx").taker_fee_bps == Decimal("8")


def test_implausible_published_values_are_skipped_not_written(fakes: Fakes, caplog: pytest.LogCaptureFixture) -> None:
    fakes.binance.published.taker = {"BTCUSDT": "2.5", "ETHUSDT": "nan", "ETHBTC": "-0.001"}  # 25,000 bps: junk
    fakes.binance.published.chains["USDT"][1] = Chain("TRX", "-1")
    fakes.sync()
    assert Exchange.objects.get(pk="binance").taker_fee_bps == Decimal("10")  # the seeded default stays
    assert ("USDT", "TRC20") not in fees("binance") and ("USDT", "ERC20") in fees("binance")
    problems = [r.problem for r in caplog.records if r.getMessage() == "fee data incomplete"]  # type: ignore[attr-defined]
    assert "USDT on TRC20: implausible withdrawal fee -1.0 skipped" in problems
    assert any(p.startswith("trading fees: ValueError: no usable spot taker fee") for p in problems)


def test_only_the_named_assets_are_synced(fakes: Fakes) -> None:
    fakes.sync("--assets", "btc")
    assert {asset for asset, _ in fees("binance")} == {"BTC"}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--exchanges", "binance,nosuch"], "--exchanges: unknown exchange(s) nosuch; choose from binance, okx"),
        (["--exchanges", " , "], "argument --exchanges: expected a comma-separated list, got nothing"),
        (["--assets", "BTC,no-pe"], "--assets: 'NO-PE' is not an asset code (letters and digits, e.g. BTC)"),
        (["--ccxt-config", "/nonexistent.json"], "/nonexistent.json: cannot read the ccxt config (No such file"),
    ],
)
def test_bad_flag_values_are_one_line_errors(flags: list[str], message: str) -> None:
    with pytest.raises(CommandError) as failure:
        call_command("sync_fees", *flags)
    assert message in str(failure.value)
    assert "\n" not in str(failure.value)


def test_a_bad_config_file_is_one_line_on_stderr(tmp_path: Path) -> None:
    bad = tmp_path / "ccxt.json"
    bad.write_text('{"binance": {"urls": [1]}}')
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", "CCXT_CONFIG_FILE": str(bad)}
    done = subprocess.run(
        [sys.executable, "manage.py", "sync_fees", "--exchanges", "binance"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"CommandError: {bad}: binance.urls: expected an object, got list"]
