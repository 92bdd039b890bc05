"""The canonical book parser: every valid book round-trips, every malformed one is refused
with a BookError that names the field, and nothing else ever escapes it."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel.book import BookError, OrderBookSnapshot, book_state, parse_book, parse_book_json

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

exchanges = st.from_regex(r"[a-z][a-z0-9]{0,11}", fullmatch=True)
symbols = st.from_regex(r"[A-Z0-9]{1,8}-[A-Z]{2,6}", fullmatch=True)
positive = st.floats(min_value=1e-9, max_value=1e12, allow_nan=False, allow_infinity=False)
timestamps = st.integers(min_value=0, max_value=2**53)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=25,
)


@st.composite
def books(draw: st.DrawFn, min_levels: int = 0) -> OrderBookSnapshot:
    """A valid book: distinct prices, the lower ones bids (descending), the rest asks."""
    prices = sorted(draw(st.sets(positive, min_size=min_levels, max_size=30)))
    split = draw(st.integers(min_value=0, max_value=len(prices)))
    if min_levels:
        split = min(max(split, 1), len(prices) - 1)
    qtys = draw(st.lists(positive, min_size=len(prices), max_size=len(prices)))
    levels = [[price, qty] for price, qty in zip(prices, qtys, strict=True)]
    return OrderBookSnapshot(
        exchange=draw(exchanges),
        symbol=draw(symbols),
        bids=levels[:split][::-1],
        asks=levels[split:],
        ts_event=draw(timestamps),
        ts_ingest=draw(timestamps),
        is_healthy=draw(st.booleans()),
        meta=draw(st.dictionaries(st.text(max_size=10), json_values, max_size=4)),
    )


def record(book: OrderBookSnapshot) -> dict[str, Any]:
    """The book as decoded JSON, with fresh lists (tests mutate it)."""
    raw: dict[str, Any] = orjson.loads(book.to_json())
    return raw


def refused(raw: Any) -> str:
    with pytest.raises(BookError) as caught:
        parse_book(raw)
    return str(caught.value)


# --- valid books -----------------------------------------------------------------------


@FUZZ
@given(books())
def test_every_valid_book_round_trips(book: OrderBookSnapshot) -> None:
    assert parse_book_json(book.to_json()) == book
    assert parse_book(book.to_dict()) == book


@FUZZ
@given(books(), st.data())
def test_decimal_strings_and_ints_become_floats(book: OrderBookSnapshot, data: st.DataObject) -> None:
    def spell(value: float) -> Any:
        choices = [value, repr(value)]
        if value.is_integer():
            choices.append(int(value))
        return data.draw(st.sampled_from(choices))

    raw = record(book)
    raw["bids"] = [[spell(p), spell(q)] for p, q in book.bids]
    raw["asks"] = [[spell(p), spell(q)] for p, q in book.asks]
    parsed = parse_book_json(orjson.dumps(raw))
    assert parsed == book
    assert all(type(v) is float for level in parsed.bids + parsed.asks for v in level)


def test_tuple_levels_become_lists() -> None:
    raw = {"exchange": "okx", "symbol": "BTC-USDT", "ts_event": 1, "ts_ingest": 2}
    parsed = parse_book({**raw, "bids": [(2.0, 1.0)], "asks": [(3.0, 1)]})
    assert parsed.bids == [[2.0, 1.0]] and parsed.asks == [[3.0, 1.0]]
    assert type(parsed.bids[0]) is list and type(parsed.asks[0][1]) is float


def test_optional_fields_default() -> None:
    parsed = parse_book(
        {"exchange": "okx", "symbol": "BTC-USDT", "bids": [], "asks": [], "ts_event": 1.0, "ts_ingest": 2}
    )
    assert parsed.is_healthy is True and parsed.meta == {} and parsed.ts_event == 1
    assert parse_book({**parsed.to_dict(), "meta": None}).meta == {}


# --- malformed books -------------------------------------------------------------------

BAD_NUMBERS: list[Any] = [
    True,
    False,
    None,
    "abc",
    "",
    "nan",
    "inf",
    "-1",
    "0",
    math.nan,
    math.inf,
    -math.inf,
    -1.5,
    0,
    0.0,
    -0.0,
    [],
    {},
    [1.0],
]


@FUZZ
@given(books(min_levels=2), st.sampled_from(BAD_NUMBERS), st.data())
def test_a_bad_number_is_refused_and_named(book: OrderBookSnapshot, bad: Any, data: st.DataObject) -> None:
    raw = record(book)
    side = data.draw(st.sampled_from(["bids", "asks"]))
    index = data.draw(st.integers(min_value=0, max_value=len(raw[side]) - 1))
    column = data.draw(st.sampled_from([0, 1]))
    raw[side][index][column] = bad
    assert refused(raw).startswith(f"{side}[{index}] {'price' if column == 0 else 'qty'}:")


def test_bools_are_not_numbers_even_in_an_all_float_book() -> None:
    base = {"exchange": "okx", "symbol": "BTC-USDT", "ts_event": 1, "ts_ingest": 2}
    assert refused({**base, "bids": [[2.0, True]], "asks": []}).startswith("bids[0] qty")
    assert refused({**base, "bids": [], "asks": [[3.0, 1.0], [True, 1.0]]}).startswith("asks[1] price")
    assert refused(
        orjson.loads(b'{"exchange":"a","symbol":"B-C","bids":[],"asks":[[1.0,true]],"ts_event":1,"ts_ingest":1}')
    )


@FUZZ
@given(books(min_levels=2), st.data())
def test_a_bad_level_shape_is_refused_and_named(book: OrderBookSnapshot, data: st.DataObject) -> None:
    raw = record(book)
    side = data.draw(st.sampled_from(["bids", "asks"]))
    index = data.draw(st.integers(min_value=0, max_value=len(raw[side]) - 1))
    price, qty = raw[side][index]
    raw[side][index] = data.draw(
        st.sampled_from([[price], [price, qty, qty], [], "ab", {"p": price, "q": qty}, price, None])
    )
    assert refused(raw).startswith(f"{side}[{index}]")


@FUZZ
@given(books(min_levels=3), st.data())
def test_out_of_order_levels_are_refused(book: OrderBookSnapshot, data: st.DataObject) -> None:
    raw = record(book)
    side = "bids" if len(raw["bids"]) >= 2 else "asks"
    index = data.draw(st.integers(min_value=1, max_value=len(raw[side]) - 1))
    if data.draw(st.booleans()):
        raw[side][index - 1], raw[side][index] = raw[side][index], raw[side][index - 1]
    else:
        raw[side][index][0] = raw[side][index - 1][0]  # a repeated price is not strictly ordered
    message = refused(raw)
    assert message.startswith(f"{side}[{index}]") and "strictly" in message


@FUZZ
@given(books(min_levels=2), st.booleans())
def test_a_crossed_book_is_refused(book: OrderBookSnapshot, touch: bool) -> None:
    raw = record(book)
    best_ask = raw["asks"][0][0]
    raw["bids"] = [[best_ask if touch else best_ask * 1.01, 1.0]]
    assert refused(raw).startswith("book: crossed")


@pytest.mark.parametrize("name", ["exchange", "symbol", "bids", "asks", "ts_event", "ts_ingest"])
def test_a_missing_field_is_named(name: str) -> None:
    raw = {"exchange": "okx", "symbol": "BTC-USDT", "bids": [], "asks": [], "ts_event": 1, "ts_ingest": 2}
    del raw[name]
    message = refused(raw)
    assert message.startswith("book: missing") and name in message


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("exchange", ""),
        ("exchange", "Binance"),
        ("exchange", "bïnance"),
        ("exchange", 7),
        ("exchange", None),
        ("symbol", "BTCUSDT"),
        ("symbol", "BTC-USDT-X"),
        ("symbol", "-USDT"),
        ("symbol", "btc-usdt"),
        ("symbol", ["BTC", "USDT"]),
        ("bids", {"1.0": 2.0}),
        ("asks", "[[1.0, 2.0]]"),
        ("ts_event", -1),
        ("ts_event", True),
        ("ts_event", "1700000000000"),
        ("ts_event", math.nan),
        ("ts_ingest", math.inf),
        ("ts_ingest", None),
        ("is_healthy", "true"),
        ("is_healthy", 1),
        ("is_healthy", None),
        ("meta", []),
        ("meta", "seq 5"),
    ],
)
def test_a_field_of_the_wrong_kind_is_named(name: str, bad: Any) -> None:
    raw = {
        "exchange": "okx",
        "symbol": "BTC-USDT",
        "bids": [[1.0, 1.0]],
        "asks": [[2.0, 1.0]],
        "ts_event": 1,
        "ts_ingest": 2,
    }
    assert refused({**raw, name: bad}).startswith(name)


@pytest.mark.parametrize("data", [b"[]", b"null", b"1", b'"book"', b"true", b"", b"{", b"\xff\xfe", "\ud800"])
def test_anything_but_a_json_object_is_refused(data: bytes | str) -> None:
    with pytest.raises(BookError, match=r"^book: "):
        parse_book_json(data)


def test_huge_values_give_short_messages() -> None:
    raw = {"exchange": "okx", "symbol": "BTC-USDT", "bids": [], "asks": [], "ts_event": 1, "ts_ingest": 2}
    assert len(refused({**raw, "exchange": "X" * 100_000})) < 200
    assert refused({**raw, "bids": [[10**5000, 1.0]]}).startswith("bids[0] price")
    nested: Any = 1
    for _ in range(5000):
        nested = [nested]
    assert refused({**raw, "symbol": nested}).startswith("symbol")


# --- nothing but BookError, whatever the input -----------------------------------------


def parses_or_refuses(data: bytes | str) -> OrderBookSnapshot | None:
    try:
        return parse_book_json(data)
    except BookError:
        return None


def assert_canonical(book: OrderBookSnapshot) -> None:
    """What the engine relies on for every accepted book."""
    for side, descending in ((book.bids, True), (book.asks, False)):
        assert all(type(level) is list and len(level) == 2 for level in side)
        assert all(type(v) is float and math.isfinite(v) and v > 0 for level in side for v in level)
        prices = [price for price, _ in side]
        assert prices == sorted(set(prices), reverse=descending)
    if book.bids and book.asks:
        assert book.bids[0][0] < book.asks[0][0]


@FUZZ
@given(json_values)
def test_any_json_value_parses_or_is_refused(value: Any) -> None:
    parses_or_refuses(orjson.dumps(value))


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_parse_or_are_refused(data: bytes | str) -> None:
    parses_or_refuses(data)


@FUZZ
@given(
    books(),
    st.sampled_from(["exchange", "symbol", "bids", "asks", "ts_event", "ts_ingest", "is_healthy", "meta"]),
    json_values,
)
def test_any_json_in_any_field_parses_or_is_refused(book: OrderBookSnapshot, name: str, value: Any) -> None:
    raw = record(book)
    raw[name] = value
    parsed = parses_or_refuses(orjson.dumps(raw))
    if parsed is not None:
        assert_canonical(parsed)


def spellings(value: Any) -> st.SearchStrategy[Any]:
    """Other ways to write a number, right or wrong: what a sloppy producer might send."""
    same = (
        [repr(value), f"{value:.3f}", int(value), -value]
        if isinstance(value, float) and math.isfinite(value)
        else [value]
    )
    sneaky = [True, False, 1, 0, 0.0, -0.0, math.nan, math.inf, None, "", "1e999"]
    return st.sampled_from(same) | st.sampled_from(sneaky) | st.floats() | json_values


@FUZZ
@given(books(), st.data())
def test_accepted_levels_always_satisfy_the_invariants(book: OrderBookSnapshot, data: st.DataObject) -> None:
    raw = record(book)
    levels = raw["bids"] + raw["asks"]
    if levels:
        for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
            level = data.draw(st.sampled_from(levels))
            column = data.draw(st.sampled_from([0, 1]))
            level[column] = data.draw(spellings(level[column]))
    try:
        parsed = parse_book(raw)
    except BookError:
        return
    assert_canonical(parsed)
    assert not any(isinstance(v, bool) for level in levels for v in level)
    assert parsed.bids == [[float(p), float(q)] for p, q in raw["bids"]]
    assert parsed.asks == [[float(p), float(q)] for p, q in raw["asks"]]


@pytest.mark.parametrize(
    ("age_ms", "healthy", "state"),
    [
        (0, True, "fresh"),
        (10_000, True, "fresh"),  # on the bound: still usable
        (10_001, True, "stale"),
        (0, False, "unhealthy"),
        (60_000, False, "unhealthy"),  # unhealthy says more than stale
        (-10_000, True, "fresh"),  # ahead of our clock within the bound: skew we tolerate
        (-10_001, True, "future"),  # further ahead: a clock not to trust
    ],
)
def test_the_usable_book_rule(age_ms: int, healthy: bool, state: str) -> None:
    now = 1_750_000_000_000
    book = OrderBookSnapshot("binance", "BTC-USDT", [[1.0, 1.0]], [[2.0, 1.0]], now - age_ms, now - age_ms, healthy)
    assert book_state(book, now, stale_after_sec=10) == state
