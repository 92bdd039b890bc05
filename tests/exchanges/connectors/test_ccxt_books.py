"""The live ccxt connectors against local fakes of binance, okx and kraken speaking their real
protocols: books land in the store in canonical form, paced, and follow the watchlist."""

from __future__ import annotations

from typing import Any

import ccxt.pro
import pytest
from prometheus_client import REGISTRY

from exchanges import registry
from exchanges.connectors.exchanges import ExchangeAdapter
from tests.fakes.binance import FakeBinance
from tests.fakes.harness import MutableSymbols, books, eventually, live_market
from tests.fakes.kraken import FakeKraken
from tests.fakes.okx import FakeOkx
from tests.fakes.server import FakeExchange, RateLimit


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("fake_class", "symbol", "exchange_symbol", "checksum_ok"),
    [
        (FakeBinance, "BTC-USDT", "BTCUSDT", None),  # no checksum on binance: sequence ids vouch
        (FakeOkx, "BTC-USDT", "BTC-USDT", True),
        (FakeKraken, "BTC-USD", "XXBTZUSD", True),
    ],
)
async def test_books_land_in_canonical_form_with_meta(
    fake_class: type[FakeExchange], symbol: str, exchange_symbol: str, checksum_ok: bool | None
) -> None:
    fake = fake_class(books((symbol, "60000"), ("ETH-" + symbol.split("-")[1], "3000")))
    async with live_market([fake], {fake.name: [symbol]}) as market:
        stored = await market.in_sync(fake.name, symbol)

        assert stored.exchange == fake.name and stored.symbol == symbol
        # Kraken: only the 10 levels its checksum vouches for are stored.
        assert len(stored.bids) == len(stored.asks) == (10 if fake_class is FakeKraken else 25)
        assert stored.bids == sorted(stored.bids, reverse=True) and stored.asks == sorted(stored.asks)
        assert stored.meta["exchange_symbol"] == exchange_symbol
        assert stored.meta["checksum_ok"] is checksum_ok
        assert stored.meta["lag_ms"] == stored.ts_ingest - stored.ts_event >= 0
        assert stored.ts_event > 1_600_000_000_000  # the exchange's own timestamp, in ms
        if isinstance(fake, FakeBinance):
            assert stored.meta["seq_id"] == fake.update_ids[symbol]
        if isinstance(fake, FakeOkx):
            assert stored.meta["seq_id"] > 0
        # only the watched symbol was subscribed
        assert fake.subscribed_symbols == {symbol}
        assert metric("md_book_updates_total", exchange=fake.name) > 0


async def test_three_exchanges_side_by_side_and_unlisted_symbols_skipped() -> None:
    fakes = [
        FakeBinance(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000"))),
        FakeOkx(books(("BTC-USDT", "60010"), ("ETH-USDT", "3001"))),
        FakeKraken(books(("BTC-USD", "60020"), ("ETH-USD", "3002"))),
    ]
    watch = {
        "binance": ["BTC-USDT", "ETH-USDT", "DOGE-USDT"],
        "okx": ["BTC-USDT", "ETH-USDT"],
        "kraken": ["BTC-USD", "ETH-USD", "XRP-USD"],
    }
    async with live_market(fakes, watch) as market:
        for exchange, symbols in watch.items():
            for symbol in symbols:
                if symbol.startswith(("DOGE", "XRP")):
                    continue
                await market.in_sync(exchange, symbol)
        stored = {b.key for b in market.store.read_all().books}
        assert ("binance", "DOGE-USDT") not in stored and ("kraken", "XRP-USD") not in stored
        assert len(stored) == 6
        assert market.runner.restarts == 0


async def test_snapshot_requests_of_hundreds_of_symbols_stay_under_the_rate_limit() -> None:
    symbols = [f"C{i:03d}-USDT" for i in range(240)]
    # 15 snapshot requests per 100 ms, the 16th gets HTTP 429: 240 requests at once would trip it.
    fake = FakeBinance(
        books(*((s, "10") for s in symbols), tick="0.001", lot="0.01"),
        rate_limit=RateLimit(requests=15, window_sec=0.1),
        interval=0.2,
        changes_per_tick=1,
    )
    # ccxt's limiter spaces requests by rateLimit ms (times the endpoint's cost): 100/s here.
    config: dict[str, Any] = {"batch_size": 20, "silence_sec": 5.0, "book_silence_sec": 30.0}
    async with live_market([fake], {"binance": symbols}, connector=config, ccxt={"rateLimit": 10}) as market:
        await eventually(lambda: len(market.store.read_all().books) == len(symbols), "every book stored", limit_sec=40)
        assert fake.stats["rate_limited"] == 0
        assert fake.stats["snapshot_requests"] == len(symbols)
        assert all(b.is_healthy for b in market.store.read_all().books)


async def test_watchlist_changes_apply_without_a_restart() -> None:
    fake = FakeOkx(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000"), ("SOL-USDT", "150")))
    watchlist = MutableSymbols({"okx": ["BTC-USDT"]}, reload_every=0.1)
    async with live_market([fake], watchlist) as market:
        await market.in_sync("okx", "BTC-USDT")
        assert fake.subscribed_symbols == {"BTC-USDT"}

        watchlist.by_exchange["okx"] = ["ETH-USDT", "SOL-USDT"]  # an admin edits the watchlist
        await market.in_sync("okx", "ETH-USDT")
        await market.in_sync("okx", "SOL-USDT")
        await eventually(lambda: fake.subscribed_symbols == {"ETH-USDT", "SOL-USDT"}, "BTC unsubscribed")
        dropped = market.book("okx", "BTC-USDT")
        assert dropped is not None and not dropped.is_healthy  # the scan skips it from now on
        assert market.store.marked("okx", "BTC-USDT", "no longer watched")
        assert market.runner.restarts == 0


async def test_a_symbol_the_exchange_does_not_list_is_reported_once_not_at_every_session(caplog) -> None:  # type: ignore[no-untyped-def]
    fake = FakeOkx(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000")))
    watchlist = MutableSymbols({"okx": ["BTC-USDT", "DOGE-USDT"]}, reload_every=0.1)
    async with live_market([fake], watchlist) as market:
        await market.in_sync("okx", "BTC-USDT")
        watchlist.by_exchange["okx"] = ["BTC-USDT", "ETH-USDT", "DOGE-USDT", "PEPE-USDT"]
        await market.in_sync("okx", "ETH-USDT")
        watchlist.by_exchange["okx"] = ["ETH-USDT", "DOGE-USDT", "PEPE-USDT"]
        await eventually(lambda: fake.subscribed_symbols == {"ETH-USDT"}, "a third session")
    said = [
        r.__dict__.get("symbols")
        for r in caplog.records
        if r.getMessage() == "symbols not listed on the exchange are skipped"
    ]
    assert said == ["DOGE-USDT", "PEPE-USDT"]


class OneSymbolAtATime(ExchangeAdapter):
    """The generic adapter, as for an exchange whose ccxt class has no
    watch_order_book_for_symbols (gate, htx, mexc, bitfinex, bitstamp)."""

    def batched(self, exchange: Any) -> bool:
        return False


async def test_the_generic_adapter_watches_one_symbol_at_a_time_and_recovers() -> None:
    binance = FakeBinance(books(("BTC-USDT", "60000"), ("ETH-USDT", "3000")))
    adapter = OneSymbolAtATime(ccxt.pro.binance, registry.get("binance"))
    async with live_market([binance], {"binance": ["BTC-USDT", "ETH-USDT"]}, adapters={"binance": adapter}) as market:
        await market.in_sync("binance", "BTC-USDT")
        await market.in_sync("binance", "ETH-USDT")
        assert binance.stats["connections"] == 2  # ccxt: one stream per watch_order_book call

        binance.inject_gap("ETH-USDT")
        await eventually(lambda: market.store.marked("binance", "ETH-USDT"), "gap caught")
        await market.in_sync("binance", "ETH-USDT")
        assert not market.store.marked("binance", "BTC-USDT")
