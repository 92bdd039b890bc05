"""Filters and scan messages come from outside (a client's frame, a Redis value): any input
is either accepted or refused with a message naming the problem, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbitrage.api.feed_filters import FILTER_NAMES, FeedFilters, FilterError
from arbitrage.latest import parse_scan_message

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
        filters = FeedFilters.parse(raw)
    except FilterError as exc:
        assert exc.errors and all(isinstance(message, str) and message for message in exc.errors.values())
        return
    assert isinstance(filters.matches(item), bool)
    assert FeedFilters.parse(filters.as_dict()) == filters  # what a client is told round-trips


@given(raw=json_values)
def test_any_stored_value_is_a_scan_message_or_nothing(raw):
    message = parse_scan_message(raw)
    if message is not None:
        assert message["type"] == "opportunities" and isinstance(message["ts"], int)
        assert all(isinstance(item, dict) for item in message["items"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"symbol": " btc/usdt "}, {"symbol": "BTC-USDT"}),
        ({"exchange": "OKX", "type": "Spatial"}, {"exchange": "okx", "type": "spatial"}),
        ({"min_net_edge": "0.25", "risk": "Flagged"}, {"min_net_edge": 0.25, "risk": "flagged"}),
        ({"symbol": "", "exchange": None}, {}),
    ],
)
def test_filters_are_normalised(raw, expected):
    assert FeedFilters.parse(raw).as_dict() == expected


def test_every_problem_is_named_at_once():
    with pytest.raises(FilterError) as caught:
        FeedFilters.parse({"symbol": 5, "min_net_edge": float("inf"), "type": "futures", "size": 1})
    assert set(caught.value.errors) == {"symbol", "min_net_edge", "type", "size"}
