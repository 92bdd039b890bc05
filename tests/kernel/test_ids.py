"""The one set of name rules: what people type is normalised, then accepted or refused the
same way by the book parser, the filters, admin and the commands."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.ids import (
    is_asset,
    is_exchange_id,
    is_symbol,
    normalize_asset,
    normalize_exchange_id,
    normalize_symbol,
    split_symbol,
)


@pytest.mark.parametrize(
    ("typed", "symbol"),
    [(" btc/usdt ", "BTC-USDT"), ("eth-btc", "ETH-BTC"), ("1000shib/usdt", "1000SHIB-USDT")],
)
def test_what_people_type_becomes_a_symbol(typed: str, symbol: str) -> None:
    assert normalize_symbol(typed) == symbol and is_symbol(symbol)
    assert split_symbol(symbol) == tuple(symbol.split("-"))


@pytest.mark.parametrize(
    "bad", ["BTC", "BTC-", "-USDT", "BTC--USDT", "BTC-USDT-X", "BTC_USDT", "ÄBC-USDT", "A" * 16 + "-USDT"]
)
def test_what_is_not_a_symbol(bad: str) -> None:
    assert not is_symbol(bad)


@pytest.mark.parametrize("good", ["binance", "gate.io", "crypto_com", "okx", "x", "a" * 32])
def test_exchange_ids(good: str) -> None:
    assert is_exchange_id(good) and normalize_exchange_id(f" {good.upper()} ") == good


@pytest.mark.parametrize("bad", ["", "Binance", "bin ance", "a|b", "_binance", "a" * 33, "binänce"])
def test_what_is_not_an_exchange_id(bad: str) -> None:
    assert not is_exchange_id(bad)


@given(text=st.text(max_size=40))
def test_any_text_is_judged_never_crashes_and_a_valid_name_is_its_own_normal_form(text: str) -> None:
    for normalize, valid in (
        (normalize_symbol, is_symbol),
        (normalize_asset, is_asset),
        (normalize_exchange_id, is_exchange_id),
    ):
        name = normalize(text)
        if valid(name):
            assert normalize(name) == name
            assert "|" not in name and ">" not in name  # the separators of store keys and cycle names
