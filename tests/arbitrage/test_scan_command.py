"""`manage.py scan` (docs/design.md, "Contracts"): as a user runs it, and through call_command."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import FeeSchedule, ScanParams
from tests.arbitrage.engine.factories import NOW, book

# binance asks 100 then 102; kraken bids 103 then 102.5 (see test_spatial's worked example).
BINANCE = book("binance", "BTC-USDT", bids=[[99, 10]], asks=[[100, 6], [102, 10], [105, 100]])
KRAKEN = book("kraken", "BTC-USDT", bids=[[103, 5], [102.5, 10], [100, 100]], asks=[[104, 10]])


SECTION_3_FIELDS = {
    "type", "symbol", "buy_exchange", "sell_exchange", "buy_vwap", "sell_vwap", "gross_edge_pct", "net_edge_pct",
    "expected_profit_usdt", "available_qty", "risk_flag", "ts_detected", "fees_pct", "slippage_pct", "withdraw_pct",
    "optimal_qty", "optimal_profit_usdt", "exchange", "path", "risk_flags", "transfer_network",
}  # fmt: skip


def write_books(path: Path, *books: object, extra: bytes = b"") -> Path:
    path.write_bytes(b"\n".join(b.to_json() for b in books) + b"\n\n" + extra)  # type: ignore[attr-defined]
    return path


@pytest.fixture
def books_file(tmp_path: Path) -> Path:
    return write_books(tmp_path / "books.jsonl", BINANCE, KRAKEN)


def run_scan(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python manage.py scan ...` against an empty, unmigrated database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}",
        "SECRET_KEY": "scan-command-test",
        "LOG_LEVEL": "INFO",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "scan", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


class TestAsAProcess:
    def test_leaves_a_fresh_checkout_as_it_found_it(self, tmp_path: Path, books_file: Path) -> None:
        done = run_scan(tmp_path, "--books", str(books_file), "--now", str(NOW))
        assert done.returncode == 0, done.stderr
        assert not (tmp_path / "never-migrated.sqlite3").exists()  # no database file created

    def test_a_notional_too_small_to_buy_anything_finds_nothing(self, tmp_path: Path, books_file: Path) -> None:
        done = run_scan(tmp_path, "--books", str(books_file), "--now", str(NOW), "--target-notional", "5e-324")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == []

    def test_prints_the_json_array_only_with_unrounded_numbers(self, tmp_path: Path, books_file: Path) -> None:
        done = run_scan(tmp_path, "--books", str(books_file), "--now", str(NOW), "--format", "json")
        assert done.returncode == 0, done.stderr
        items = json.loads(done.stdout)  # nothing but the array on stdout
        expected = scan_books([BINANCE, KRAKEN], NOW, ScanParams(), FeeSchedule()).opportunities
        assert items == [orjson.loads(orjson.dumps(o.as_dict())) for o in expected]
        [item] = items
        assert item["net_edge_pct"] == expected[0].net_edge_pct  # exactly, not rounded
        assert set(item) >= SECTION_3_FIELDS
        assert item["ts_detected"] == NOW
        assert "Traceback" not in done.stderr

    def test_flags_and_fees_file_override_the_defaults(self, tmp_path: Path, books_file: Path) -> None:
        fees = tmp_path / "fees.json"
        fees.write_text('{"taker_fee_bps": {"kraken": 7.5}, "withdraw_fees": {"binance": {"BTC": 0.0005}}}')
        done = run_scan(tmp_path, "--books", str(books_file), "--now", str(NOW), "--fees", str(fees),
                        "--target-notional", "500", "--slippage-bps", "2.5", "--min-net-edge-pct", "1")  # fmt: skip
        assert done.returncode == 0, done.stderr
        [item] = json.loads(done.stdout)
        assert item["fees_pct"] == pytest.approx(0.175)
        assert item["slippage_pct"] == pytest.approx(0.025)
        assert item["available_qty"] == pytest.approx(5)  # 500 USDT at 100
        assert item["withdraw_pct"] == pytest.approx(0.0005 / 5 * 100)
        assert item["risk_flag"] == "ok"

    def test_the_fees_file_networks_choose_the_transfer_route(self, tmp_path: Path, books_file: Path) -> None:
        def network(code: str, fee: float, contract: str | None = None, deposits: bool = True) -> dict[str, object]:
            return {"network": code, "withdraw_fee": fee, "withdraw_enabled": True, "deposit_enabled": deposits,
                    "contract": contract}  # fmt: skip

        fees = tmp_path / "fees.json"
        fees.write_text(json.dumps({"networks": {
            "binance": {"BTC": [network("BTC", 0.0005), network("bep20", 0.00001), network("SOL", 0)]},
            "kraken": {"BTC": [network("btc", 0.0001), network("BEP20", 0.00002), network("SOL", 0, deposits=False)]},
        }}))  # fmt: skip
        done = run_scan(tmp_path, "--books", str(books_file), "--now", str(NOW), "--fees", str(fees))
        assert done.returncode == 0, done.stderr
        [item] = json.loads(done.stdout)
        assert (item["transfer_network"], item["risk_flags"]) == ("BEP20", [])
        assert item["withdraw_pct"] == pytest.approx(0.00001 / item["available_qty"] * 100)

        fees.write_text(json.dumps({"networks": {
            "binance": {"BTC": [network("ERC20", 0.0005, "0xAAA")]},
            "kraken": {"BTC": [network("erc20", 0.0001, "0xbbb")]},
        }}))  # fmt: skip
        [item] = json.loads(
            run_scan(tmp_path, "--books", str(books_file), "--now", str(NOW), "--fees", str(fees)).stdout
        )
        assert (item["transfer_network"], item["risk_flag"], item["withdraw_pct"]) == (None, "asset_mismatch", 0.0)

    def test_any_lower_case_exchange_and_stale_books(self, tmp_path: Path) -> None:
        mine = book("myexchange42", "BTC-USDT", bids=[[103, 50]], asks=[[104, 50]])
        stale = book("binance", "BTC-USDT", bids=[[99, 50]], asks=[[100, 50]], ts_ingest=NOW - 11_000)
        path = write_books(tmp_path / "books.jsonl", mine, stale)
        fresh = run_scan(tmp_path, "--books", str(path), "--now", str(NOW), "--stale-after-sec", "12")
        pairs = [(i["buy_exchange"], i["sell_exchange"]) for i in json.loads(fresh.stdout)]
        assert pairs == [("binance", "myexchange42")]
        default = run_scan(tmp_path, "--books", str(path), "--now", str(NOW))
        assert json.loads(default.stdout) == []

    def test_table_format_is_for_people(self, tmp_path: Path, books_file: Path) -> None:
        done = run_scan(tmp_path, "--books", str(books_file), "--now", str(NOW), "--format", "table")
        assert done.returncode == 0, done.stderr
        header, _rule, row, summary = done.stdout.strip().splitlines()
        assert header.split()[:4] == ["type", "symbol", "/", "path"]
        assert row.split()[:4] == ["spatial", "BTC-USDT", "binance", "kraken"]
        assert summary.startswith("2 books: 2 used, 0 stale, 0 unhealthy")

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--books", "{dir}/missing.jsonl"], "missing.jsonl: cannot read the books file"),
            (["--books", "{dir}/bad.jsonl"], "bad.jsonl:4: book: missing field(s) symbol"),  # line 3 is blank
            (["--books", "{dir}/books.jsonl", "--target-notional", "-5"], "--target-notional: expected a positive"),
            (["--books", "{dir}/books.jsonl", "--slippage-bps", "x"], "--slippage-bps: expected a non-negative"),
            (["--books", "{dir}/books.jsonl", "--now", "yesterday"], "--now: expected a time in ms"),
            (["--books", "{dir}/books.jsonl", "--format", "xml"], "--format: expected json or table"),
            (["--books", "{dir}/books.jsonl", "--fees", "{dir}/fees.json"], "fees.json: taker_fee_bps.okx: expected"),
            (["--books", "{dir}/books.jsonl", "--fees", "{dir}/broken.json"], "broken.json:2: invalid JSON"),
            (["--books", "{dir}/books.jsonl", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
            (["--books", "{dir}/future.jsonl"], "future.jsonl:1: ts_event: expected a timestamp in ms from 0 to 2^53"),
            (["--books", "{dir}/books.jsonl", "--now", "1" + "0" * 40], "--now: expected a time in ms"),
        ],
    )
    def test_bad_input_is_one_line_on_stderr(self, tmp_path: Path, args: list[str], message: str) -> None:
        write_books(tmp_path / "books.jsonl", BINANCE, KRAKEN)
        write_books(tmp_path / "bad.jsonl", BINANCE, KRAKEN, extra=b'{"exchange": "okx"}\n')
        (tmp_path / "fees.json").write_text('{"taker_fee_bps": {"okx": -1}}')
        (tmp_path / "broken.json").write_text('{"taker_fee_bps":\n  {"okx": }')
        (tmp_path / "future.jsonl").write_text(
            '{"exchange":"okx","symbol":"BTC-USDT","bids":[[1,1]],"asks":[[2,1]],"ts_event":1e30,"ts_ingest":1}\n'
        )
        done = run_scan(tmp_path, *(arg.format(dir=tmp_path) for arg in args))
        assert done.returncode != 0
        assert done.stdout == ""
        [line] = done.stderr.strip().splitlines()
        assert message in line
        assert "Traceback" not in done.stderr


def call_scan(*args: str, **options: object) -> str:
    out = io.StringIO()
    call_command("scan", *args, stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
class TestInProcess:
    def test_uses_the_configured_settings_and_fees(self, books_file: Path) -> None:
        from arbitrage.models import ScannerSettings
        from exchanges.models import Exchange, WithdrawalFee

        ScannerSettings.objects.update_or_create(pk=1, defaults={"slippage_bps": Decimal("2.5")})
        Exchange.objects.update_or_create(id="kraken", defaults={"name": "Kraken", "taker_fee_bps": 7.5})
        binance, _ = Exchange.objects.update_or_create(id="binance", defaults={"name": "Binance"})
        WithdrawalFee.objects.create(exchange=binance, asset="BTC", network="BTC", fee=Decimal("0.0005"))
        [item] = json.loads(call_scan("--books", str(books_file), "--now", str(NOW)))
        assert item["slippage_pct"] == pytest.approx(0.025)
        assert item["fees_pct"] == pytest.approx((float(binance.taker_fee_bps) + 7.5) / 100)
        # binance sends BTC over its BTC network; whether kraken takes it there is unknown.
        assert (item["transfer_network"], item["risk_flags"]) == ("BTC", ["route_unverified"])
        WithdrawalFee.objects.create(exchange_id="kraken", asset="BTC", network="btc", fee=Decimal("0.0001"))
        [item] = json.loads(call_scan("--books", str(books_file), "--now", str(NOW)))
        assert (item["transfer_network"], item["risk_flag"]) == ("BTC", "ok")
        assert item["withdraw_pct"] == pytest.approx(0.0005 / item["available_qty"] * 100)

    def test_the_fees_file_wins_over_the_configured_fees(self, tmp_path: Path, books_file: Path) -> None:
        from exchanges.models import Exchange

        Exchange.objects.update_or_create(id="kraken", defaults={"name": "Kraken", "taker_fee_bps": 7.5})
        fees = tmp_path / "fees.json"
        fees.write_text('{"taker_fee_bps": {"kraken": 200}}')  # 2 %: more than the gross edge
        assert json.loads(call_scan("--books", str(books_file), "--now", str(NOW), "--fees", str(fees))) == []

    def test_options_as_python_values(self, books_file: Path) -> None:
        out = call_scan(books=str(books_file), now=NOW, min_net_edge_pct=1.5, target_notional=1000)
        assert [item["symbol"] for item in json.loads(out)] == ["BTC-USDT"]
        assert json.loads(call_scan(books=str(books_file), now=NOW, min_net_edge_pct=2)) == []

    def test_bad_input_raises_command_error(self, tmp_path: Path) -> None:
        with pytest.raises(CommandError, match=r"missing\.jsonl: cannot read"):
            call_scan("--books", str(tmp_path / "missing.jsonl"))
        with pytest.raises(CommandError, match="--stale-after-sec: expected a positive number"):
            call_scan(books=str(write_books(tmp_path / "b.jsonl", BINANCE)), stale_after_sec=0)

    def test_without_books_it_scans_the_live_store(self, settings: object) -> None:
        from exchanges.store import get_book_store, reset_book_store

        settings.REDIS_URL = ""  # type: ignore[attr-defined]
        reset_book_store()
        try:
            get_book_store().write_books([BINANCE, KRAKEN])
            items = json.loads(call_scan("--now", str(NOW)))
        finally:
            reset_book_store()
        assert [(i["buy_exchange"], i["sell_exchange"]) for i in items] == [("binance", "kraken")]
