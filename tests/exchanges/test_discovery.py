"""Market discovery's rules, on ccxt-shaped market tables: which pairs are kept, why the
others are not, and how the cap per exchange cuts."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from exchanges.discovery import ExchangeMarkets, Verdict, judge, spot_pairs, watch_lists


def market(base: str, quote: str, **kw: Any) -> dict[str, Any]:
    return {
        "symbol": f"{base}/{quote}",
        "base": base,
        "quote": quote,
        "type": "spot",
        "spot": True,
        "active": True,
        **kw,
    }


def test_only_active_spot_pairs_count() -> None:
    table = {
        "BTC/USDT": market("BTC", "USDT"),
        "BTC/USDT:USDT": market("BTC", "USDT", type="swap", spot=False, swap=True, contract=True),
        "ETH/USDT-251226": market("ETH", "USDT", type="future", spot=False, future=True),
        "LUNA/USDT": market("LUNA", "USDT", active=False),  # delisted
        "XBT/USD": market("BTC", "USD"),  # ccxt already maps kraken's XBT
        "odd": market("BTC", "B T C"),
        "junk": "not a market",
    }
    found = spot_pairs("kraken", table)
    assert found.pairs == {"BTC-USDT", "BTC-USD"}
    assert (found.derivatives, found.inactive, found.unnamed) == (2, 1, 2)


def test_a_pair_is_kept_on_two_exchanges_with_a_usdt_price() -> None:
    verdicts = judge(
        [
            ExchangeMarkets("binance", {"BTC-USDT", "ETH-BTC", "PEPE-USDT", "ABC-XYZ"}),
            ExchangeMarkets("okx", {"BTC-USDT", "ETH-BTC", "ABC-XYZ"}),
        ]
    )
    assert verdicts == [
        Verdict("BTC-USDT", ("binance", "okx"), True),
        Verdict("ETH-BTC", ("binance", "okx"), True),
        Verdict("ABC-XYZ", ("binance", "okx"), False, "no XYZ-USDT pair to price XYZ in USDT"),
        Verdict("PEPE-USDT", ("binance",), False, "listed on one exchange only (binance)"),
    ]


def test_the_cap_keeps_the_widest_listed_pairs_and_the_quotes_pricing_pairs_first() -> None:
    verdicts = [
        Verdict("ETH-BTC", ("binance", "okx"), True),
        Verdict("SOL-USDT", ("binance", "kraken", "okx"), True),
        Verdict("BTC-USDT", ("binance", "okx"), True),
        Verdict("DOGE-USDT", ("binance", "okx"), True),
        Verdict("PEPE-USDT", ("binance",), False, "listed on one exchange only (binance)"),
    ]
    lists = watch_lists(verdicts, cap=2)
    # BTC-USDT prices ETH-BTC: it comes first; then the pair on three exchanges.
    assert lists == {"binance": ("BTC-USDT", "SOL-USDT"), "okx": ("BTC-USDT", "SOL-USDT"), "kraken": ("SOL-USDT",)}


listings = st.lists(
    st.tuples(
        st.sampled_from(["binance", "okx", "kraken", "gate"]),
        st.sampled_from(["BTC", "ETH", "SOL", "AAA", "BBB"]),
        st.sampled_from(["USDT", "BTC", "ETH", "XYZ"]),
    ),
    max_size=40,
)


@given(listings, st.integers(1, 6))
def test_kept_pairs_are_listed_twice_and_priced_and_the_cap_holds(listed: list[tuple[str, str, str]], cap: int) -> None:
    by_exchange: dict[str, set[str]] = {}
    for exchange, base, quote in listed:
        if base != quote:
            by_exchange.setdefault(exchange, set()).add(f"{base}-{quote}")
    verdicts = judge(ExchangeMarkets(e, pairs) for e, pairs in by_exchange.items())
    all_pairs = {p for pairs in by_exchange.values() for p in pairs}
    assert {v.symbol for v in verdicts} == all_pairs  # every pair gets a verdict, once
    for v in verdicts:
        quote = v.symbol.split("-")[1]
        priced = quote == "USDT" or f"{quote}-USDT" in all_pairs
        assert v.included == (len(v.exchanges) >= 2 and priced)
        assert v.included or v.reason
    for exchange, symbols in watch_lists(verdicts, cap).items():
        assert len(symbols) <= cap and len(set(symbols)) == len(symbols)
        assert all(s in by_exchange[exchange] and any(v.symbol == s and v.included for v in verdicts) for s in symbols)
