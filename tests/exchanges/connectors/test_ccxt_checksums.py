"""The book checksums the connector verifies where ccxt does not: OKX's (when non-zero) and
Kraken's v2 CRC32, against the exchanges' documented examples and against the fakes'
independent implementations over decimal strings."""

from __future__ import annotations

import zlib
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from exchanges.connectors.exchanges.kraken import kraken_checksum
from exchanges.connectors.exchanges.okx import okx_checksum
from tests.fakes.book import fixed
from tests.fakes.kraken import kraken_checksum as exchange_kraken_checksum


def test_okx_checksum_matches_the_documented_examples() -> None:
    # OKX's examples: an even book, and one with more asks than bids (interleaving stops
    # on the shorter side). The checksum is a signed 32-bit integer.
    assert okx_checksum([("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")]) == -1881014294
    assert okx_checksum([("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")]) == 831078360


def test_okx_checksum_covers_only_the_top_25_levels() -> None:
    bids = [(str(1000 - i), "1") for i in range(30)]
    asks = [(str(1001 + i), "1") for i in range(30)]
    changed_deep = bids[:25] + [("900", "5")] * 5
    assert okx_checksum(bids, asks) == okx_checksum(changed_deep, asks)
    assert okx_checksum(bids, asks) != okx_checksum([("1000", "2"), *bids[1:]], asks)


def test_kraken_checksum_formats_levels_as_documented() -> None:
    # Kraken's worked example: ask 45285.2 for 0.00100000 contributes "452852" + "100000".
    assert kraken_checksum([[45285.2, 0.001]], [], 1, 8) == zlib.crc32(b"452852100000")
    # asks first (low to high), then bids (high to low)
    expected = zlib.crc32(b"5000304" + b"4765500")
    assert kraken_checksum([[0.05, 0.00000304]], [[0.04765, 0.000005]], 5, 8) == expected


levels = st.lists(
    st.tuples(st.integers(1, 10**9), st.integers(1, 10**11)), min_size=0, max_size=14, unique_by=lambda t: t[0]
)


@settings(deadline=None, max_examples=200)
@given(asks=levels, bids=levels, price_decimals=st.integers(0, 8), qty_decimals=st.integers(0, 8))
def test_kraken_checksum_from_floats_equals_the_exchanges_from_decimal_strings(
    asks: list[tuple[int, int]], bids: list[tuple[int, int]], price_decimals: int, qty_decimals: int
) -> None:
    """ccxt keeps Kraken's numbers as floats; printed at the pair's precision they give back
    the exact digits Kraken hashed over its decimal strings."""
    price_step, qty_step = Decimal(1).scaleb(-price_decimals), Decimal(1).scaleb(-qty_decimals)
    ask_levels = sorted((p * price_step, q * qty_step) for p, q in asks)
    bid_levels = sorted(((p * price_step, q * qty_step) for p, q in bids), reverse=True)

    def as_floats(side: list[tuple[Decimal, Decimal]]) -> list[list[float]]:
        return [[float(p), float(q)] for p, q in side]

    def as_text(side: list[tuple[Decimal, Decimal]]) -> list[tuple[str, str]]:
        return [(fixed(p, price_decimals), fixed(q, qty_decimals)) for p, q in side]

    ours = kraken_checksum(as_floats(ask_levels), as_floats(bid_levels), price_decimals, qty_decimals)
    assert ours == exchange_kraken_checksum(as_text(ask_levels), as_text(bid_levels))
