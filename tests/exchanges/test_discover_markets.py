"""`manage.py discover_markets` against fake binance and okx REST servers (the unchanged ccxt
client, endpoints from --ccxt-config), and whole-market mode feeding ingest's watchlist."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from exchanges.models import DiscoveredMarket, Exchange, MarketCoverage
from exchanges.watchlist import DatabaseWatchlist, read_watchlist
from tests.exchanges.test_sync_fees import BINANCE, OKX
from tests.fakes.rest_fees import BinanceFees, OkxFees, serving

pytestmark = pytest.mark.django_db


class WideBinance(BinanceFees):
    MARKETS = ["BTCUSDT", "ETHUSDT", "ETHBTC", "SOLUSDT", "PEPEUSDT", "ABCXYZ"]


class WideOkx(OkxFees):
    MARKETS = ["BTC-USDT", "ETH-USDT", "ETH-BTC", "SOL-USDT", "ABC-XYZ"]


@pytest.fixture
def config_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "ccxt.json"
    binance, okx = WideBinance(copy.deepcopy(BINANCE)), WideOkx(copy.deepcopy(OKX))
    with serving(binance, okx) as config:
        path.write_bytes(orjson.dumps(config))
        yield path


def discover(config_file: Path, exchanges: str = "binance,okx") -> str:
    out = StringIO()
    call_command("discover_markets", "--exchanges", exchanges, "--ccxt-config", str(config_file), stdout=out)
    return out.getvalue()


def verdicts() -> dict[str, tuple[list[str], bool, str]]:
    return {row.symbol: (row.exchanges, row.included, row.reason) for row in DiscoveredMarket.objects.all()}


def test_pairs_on_two_exchanges_with_a_usdt_price_are_kept_and_the_rest_say_why(config_file: Path) -> None:
    out = discover(config_file)
    assert "binance: 6 active spot pairs" in out and "okx: 5 active spot pairs" in out
    assert "kept 4 of 6 pairs (1 on one exchange only, 1 without a USDT price)" in out
    assert verdicts() == {
        "BTC-USDT": (["binance", "okx"], True, ""),
        "ETH-USDT": (["binance", "okx"], True, ""),
        "ETH-BTC": (["binance", "okx"], True, ""),
        "SOL-USDT": (["binance", "okx"], True, ""),
        "PEPE-USDT": (["binance"], False, "listed on one exchange only (binance)"),
        "ABC-XYZ": (["binance", "okx"], False, "no XYZ-USDT pair to price XYZ in USDT"),
    }


def test_an_exchange_that_cannot_be_asked_keeps_its_known_pairs(config_file: Path, tmp_path: Path) -> None:
    discover(config_file)
    broken = tmp_path / "broken.json"
    config = orjson.loads(config_file.read_bytes())
    config["okx"]["urls"]["api"]["rest"] = "http://127.0.0.1:9"  # nothing listens there
    broken.write_bytes(orjson.dumps(config))
    out = discover(broken)
    assert "okx: not reachable" in out and "keeping its 5 known pairs" in out
    assert verdicts()["SOL-USDT"] == (["binance", "okx"], True, "")
    config["binance"]["urls"]["api"]["public"] = "http://127.0.0.1:9"
    broken.write_bytes(orjson.dumps(config))
    with pytest.raises(CommandError, match="no exchange could be asked"):
        discover(broken)


@pytest.mark.django_db(transaction=True)  # ingest reads the settings from its own threads
def test_whole_market_mode_gives_each_exchange_its_own_capped_pairs(config_file: Path) -> None:
    for name in ("binance", "okx"):  # a transactional test starts from a flushed database
        Exchange.objects.update_or_create(id=name, defaults={"name": name, "enabled": True})
    discover(config_file)
    assert read_watchlist().by_exchange is None  # the watchlist mode, by default
    coverage = MarketCoverage.current()
    coverage.mode, coverage.max_symbols_per_exchange = MarketCoverage.Mode.WHOLE_MARKET, 3
    coverage.save()
    watchlist = DatabaseWatchlist(reload_every=60, first=read_watchlist())
    chosen = asyncio.run(watchlist.symbols("binance"))
    assert len(chosen) == 3 and chosen[0] == "BTC-USDT"  # ETH-BTC needs it to be valued
    assert set(chosen) <= {"BTC-USDT", "ETH-USDT", "ETH-BTC", "SOL-USDT"}
    assert asyncio.run(watchlist.symbols("kraken")) == []


def test_the_daily_task_discovers_only_in_whole_market_mode(config_file: Path, settings) -> None:  # type: ignore[no-untyped-def]
    from config.celery import app
    from exchanges import tasks

    settings.CCXT_CONFIG_FILE = str(config_file)
    Exchange.objects.exclude(id__in=["binance", "okx"]).update(enabled=False)
    assert tasks.discover_markets.apply().get() == "watchlist mode: nothing to discover"
    assert not DiscoveredMarket.objects.exists()
    coverage = MarketCoverage.current()
    coverage.mode = MarketCoverage.Mode.WHOLE_MARKET
    coverage.save()
    assert tasks.discover_markets.apply().get() == "kept 4 of 6 pairs (1 on one exchange only, 1 without a USDT price)"
    assert DiscoveredMarket.objects.filter(included=True).count() == 4
    assert "exchanges.tasks.discover_markets" in app.tasks
