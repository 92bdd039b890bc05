"""Symbols across the ccxt boundary, shards of the watchlist, and the admin's watchlist read
live by a running connector."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchanges.connectors.symbols import MarketRef, Shard, from_unified, resolve_markets, to_unified
from exchanges.models import Exchange, WatchedSymbol
from exchanges.watchlist import DatabaseWatchlist


def test_symbols_convert_both_ways_and_derivatives_are_refused() -> None:
    assert to_unified("BTC-USDT") == "BTC/USDT"
    assert from_unified("ETH/BTC") == "ETH-BTC"
    for derivative in ("BTC/USDT:USDT", "BTC-USDT", "BTC/USD/T"):
        with pytest.raises(ValueError, match="not a spot symbol"):
            from_unified(derivative)


def test_markets_resolve_to_the_exchanges_own_ids() -> None:
    markets = {
        "BTC/USD": {"symbol": "BTC/USD", "id": "XXBTZUSD", "spot": True, "active": True},
        "ETH/USD": {"symbol": "ETH/USD", "id": "XETHZUSD", "spot": True, "active": False},  # delisted
        "SOL/USD": {"symbol": "SOL/USD", "id": "SOLUSD-PERP", "spot": False},
    }
    found, missing = resolve_markets(markets, ["BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD"])
    assert found == [MarketRef("BTC-USD", "BTC/USD", "XXBTZUSD")]
    assert missing == ["ETH-USD", "SOL-USD", "XRP-USD"]


@pytest.mark.parametrize("text", ["1", "1/0", "2/2", "-1/3", "a/b", "1/2/3", ""])
def test_bad_shards_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected i/n"):
        Shard.parse(text)


symbols = st.lists(st.from_regex(r"[A-Z0-9]{1,6}-[A-Z0-9]{1,5}", fullmatch=True), unique=True, max_size=60)


@given(symbols=symbols, count=st.integers(1, 9))
def test_shards_split_the_symbols_exactly_once(symbols: list[str], count: int) -> None:
    shares = [Shard(i, count).select(symbols) for i in range(count)]
    assert sorted(s for share in shares for s in share) == sorted(symbols)


def test_shards_agree_across_processes() -> None:
    """n ingest processes on n hosts must split the watchlist the same way: no salted hash()."""
    names = ["BTC-USDT", "ETH-USDT", "SOL-BTC", "XRP-USDT", "LINK-ETH", "DOGE-USDT"]
    here = [[Shard(i, 3).owns(name) for i in range(3)] for name in names]
    code = (
        "import json; from exchanges.connectors.symbols import Shard; "
        f"print(json.dumps([[Shard(i, 3).owns(n) for i in range(3)] for n in {names!r}]))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": "4242"}, capture_output=True, text=True
    )
    assert json.loads(other.stdout) == here


@pytest.mark.django_db(transaction=True)
def test_the_database_watchlist_follows_admin_changes() -> None:
    # Transactional tests flush the seed rows of the migrations: make the ones used here.
    for exchange in ("binance", "okx", "kraken"):
        Exchange.objects.update_or_create(id=exchange, defaults={"name": exchange, "enabled": True})
    for symbol in ("BTC-USDT", "ETH-USDT", "SOL-USDT"):
        WatchedSymbol.objects.update_or_create(symbol=symbol, defaults={"enabled": True})
    Exchange.objects.exclude(id__in=["binance", "okx"]).update(enabled=False)
    WatchedSymbol.objects.exclude(symbol__in=["BTC-USDT", "ETH-USDT"]).update(enabled=False)
    watchlist = DatabaseWatchlist(reload_every=0.05)

    async def scenario() -> None:
        assert sorted(await watchlist.symbols("okx")) == ["BTC-USDT", "ETH-USDT"]
        assert await watchlist.symbols("kraken") == []  # disabled in admin: idle

        await asyncio.to_thread(lambda: WatchedSymbol.objects.filter(symbol="SOL-USDT").update(enabled=True))
        await asyncio.to_thread(lambda: Exchange.objects.filter(id="okx").update(enabled=False))
        await asyncio.sleep(0.05)
        assert sorted(await watchlist.symbols("binance")) == ["BTC-USDT", "ETH-USDT", "SOL-USDT"]
        assert await watchlist.symbols("okx") == []

    asyncio.run(scenario())

    # --symbols replaces the watchlist; --shard i/4 keeps a quarter of it in each of 4 processes
    given = ["BTC-USDT", "LTC-USDT", "ETH-USDT", "SOL-BTC", "XRP-USDT"]
    shares = [asyncio.run(DatabaseWatchlist(30, symbols=given, shard=Shard(i, 4)).symbols("binance")) for i in range(4)]
    assert sorted(s for share in shares for s in share) == sorted(given)
    assert max(len(share) for share in shares) < len(given)
