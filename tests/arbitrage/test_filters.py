"""Filters come from outside (a client's frame, a query string, a chat message): any input
is either accepted or refused with a message naming the problem, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbitrage.filters import FILTER_NAMES, FilterError, OpportunityFilter

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
filter_dicts = st.dictionaries(st.sampled_from([*FILTER_NAMES, "colour"]), json_values, max_size=6)
items = st.dictionaries(
    st.sampled_from(
        ["type", "symbol", "buy_exchange", "sell_exchange", "exchange", "net_edge_pct", "risk_flag", "path"]
    ),
    json_values,
)


@given(raw=json_values | filter_dicts, item=items)
def test_any_filters_are_parsed_or_refused_and_never_crash_matching(raw, item):
    try:
        filters = OpportunityFilter.parse(raw)
    except FilterError as exc:
        assert exc.errors and all(isinstance(message, str) and message for message in exc.errors.values())
        return
    assert isinstance(filters.matches(item), bool)
    assert OpportunityFilter.parse(filters.as_dict()) == filters  # what a client is told round-trips


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"symbol": " btc/usdt "}, {"symbol": "BTC-USDT"}),
        ({"exchange": "OKX", "type": "Spatial"}, {"exchange": "okx", "type": "spatial"}),
        ({"min_net_edge": "0.25", "risk": "Flagged"}, {"min_net_edge": 0.25, "risk": "flagged"}),
        ({"symbol": "", "exchange": None}, {}),
        (
            {"symbol": "btc, ETH-usdt,btc", "exchange": ["OKX", "gate.io"]},
            {"symbol": "BTC,ETH-USDT", "exchange": "okx,gate.io"},
        ),
        ({"min_net_edge": "0.2%"}, {"min_net_edge": 0.2}),
    ],
)
def test_filters_are_normalised(raw, expected):
    assert OpportunityFilter.parse(raw).as_dict() == expected


def test_every_problem_is_named_at_once():
    with pytest.raises(FilterError) as caught:
        OpportunityFilter.parse({"symbol": 5, "min_net_edge": float("inf"), "type": "futures", "size": 1})
    assert set(caught.value.errors) == {"symbol", "min_net_edge", "type", "size"}


ITEMS = [
    {"type": "spatial", "symbol": "BTC-USDT", "buy_exchange": "binance", "sell_exchange": "okx", "exchange": None,
     "net_edge_pct": 0.5, "risk_flag": "ok", "path": None},
    {"type": "spatial", "symbol": "ETH-BTC", "buy_exchange": "kraken", "sell_exchange": "gate", "exchange": None,
     "net_edge_pct": 0.2, "risk_flag": "thin_book", "path": None},
    {"type": "triangular", "symbol": "USDT>SOL>ETH>USDT", "buy_exchange": "okx", "sell_exchange": "okx",
     "exchange": "okx", "net_edge_pct": 1.5, "risk_flag": "ok", "path": ["USDT", "SOL", "ETH", "USDT"]},
    {"type": "spatial", "symbol": "XRP-USDT", "buy_exchange": "mexc", "sell_exchange": "gemini", "exchange": None,
     "net_edge_pct": 0.3, "risk_flag": "no_transfer_route", "path": None},
]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"symbol": "BTC"}, ["BTC-USDT", "ETH-BTC"]),
        ({"symbol": "ETH"}, ["ETH-BTC", "USDT>SOL>ETH>USDT"]),
        ({"symbol": "btc/usdt,SOL"}, ["BTC-USDT", "USDT>SOL>ETH>USDT"]),
        ({"exchange": "okx"}, ["BTC-USDT", "USDT>SOL>ETH>USDT"]),  # either side, or the cycle's
        ({"exchange": "gate,binance"}, ["BTC-USDT", "ETH-BTC"]),
        ({"type": "triangular"}, ["USDT>SOL>ETH>USDT"]),
        ({"min_net_edge": 0.5}, ["BTC-USDT", "USDT>SOL>ETH>USDT"]),
        ({"risk": "flagged"}, ["ETH-BTC", "XRP-USDT"]),
        ({"risk": "actionable"}, ["BTC-USDT", "ETH-BTC", "USDT>SOL>ETH>USDT"]),  # a thin book can be taken
        ({"risk": "ok", "exchange": "okx", "min_net_edge": 1}, ["USDT>SOL>ETH>USDT"]),
    ],
)
def test_each_word_means_one_thing(raw, expected):
    assert [item["symbol"] for item in OpportunityFilter.parse(raw).apply(ITEMS)] == expected
