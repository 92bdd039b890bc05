"""The fees codec (arbitrage.engine.fees): the `scan --fees` file and the settings a
sharded scan sends its shards. Outside data: accepted whole or refused with a reason."""

from __future__ import annotations

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbitrage.engine.fees import fees_from_json, fees_to_json, parse_fees
from arbitrage.engine.types import FeeSchedule, Network


class TestFeesFile:
    def test_accepts_the_documented_shape(self) -> None:
        parsed = parse_fees(
            {"taker_fee_bps": {"binance": 10, "okx": "7.5"}, "withdraw_fees": {"binance": {"BTC": 0.0002}}}
        )
        assert parsed.taker_fee_bps == {"binance": 10.0, "okx": 7.5}
        assert parsed.withdraw_fees == {"binance": {"BTC": 0.0002}}

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ([], "expected a JSON object"),
            ({"taker_fees": {}}, "unknown key"),
            ({"taker_fee_bps": {"Binance": 10}}, "lower-case exchange id"),
            ({"taker_fee_bps": {"binance": True}}, "taker_fee_bps.binance: expected a non-negative number"),
            ({"taker_fee_bps": {"binance": "nan"}}, "taker_fee_bps.binance"),
            ({"taker_fee_bps": {"binance": 10_000}}, "taker_fee_bps.binance: a fee in basis points must be below"),
            ({"withdraw_fees": {"binance": {"btc": 1}}}, "upper-case asset code"),
            ({"withdraw_fees": {"binance": 1}}, "withdraw_fees.binance: expected an object"),
            ({"withdraw_fees": {"binance": {"BTC": -0.1}}}, "withdraw_fees.binance.BTC"),
        ],
    )
    def test_rejects_what_it_cannot_use(self, raw: object, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            parse_fees(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
fee_files = st.fixed_dictionaries(
    {},
    optional={
        "taker_fee_bps": st.dictionaries(st.sampled_from(["binance", "okx", "Bad"]), json_values, max_size=3),
        "withdraw_fees": st.dictionaries(
            st.sampled_from(["binance", "okx"]),
            st.dictionaries(st.sampled_from(["BTC", "ETH", "eth"]), json_values, max_size=2) | json_values,
            max_size=2,
        ),
    },
)


@hypothesis.settings(max_examples=200, deadline=None)
@given(raw=fee_files | json_values)
def test_any_fees_file_is_accepted_whole_or_refused_with_a_reason(raw: object) -> None:
    try:
        parsed = parse_fees(raw)
    except ValueError as exc:
        assert str(exc)
        return
    fees = [*parsed.taker_fee_bps.values(), *(f for a in parsed.withdraw_fees.values() for f in a.values())]
    assert all(isinstance(f, float) and 0 <= f < float("inf") for f in fees)
    assert all(f < 10_000 for f in parsed.taker_fee_bps.values())


schedules = st.builds(
    FeeSchedule,
    taker_fee_bps=st.dictionaries(st.sampled_from(["binance", "okx", "gate.io"]), st.floats(0, 9_999), max_size=3),
    default_taker_fee_bps=st.floats(0, 9_999),
    withdraw_fees=st.dictionaries(
        st.sampled_from(["binance", "kraken"]),
        st.dictionaries(st.sampled_from(["BTC", "ETH", "1000SHIB"]), st.floats(0, 1e6), max_size=3),
        max_size=2,
    ),
    withdrawals_disabled=st.frozensets(st.tuples(st.sampled_from(["okx", "kraken"]), st.sampled_from(["XRP", "SOL"]))),
    networks=st.dictionaries(
        st.sampled_from(["binance", "okx"]),
        st.dictionaries(
            st.sampled_from(["USDC", "BTC"]),
            st.lists(
                st.builds(
                    Network.of,
                    st.sampled_from(["ERC20", "trc20", "Sol"]),
                    st.floats(0, 1e6),
                    st.booleans(),
                    st.booleans(),
                    st.one_of(st.none(), st.sampled_from(["0xA0b8", "EPjFWdd5"])),
                ),
                min_size=1,
                max_size=3,
            ).map(tuple),
            min_size=1,
            max_size=2,
        ),
        max_size=2,
    ),
)


@given(fees=schedules)
def test_a_schedule_survives_its_json_round_trip(fees: FeeSchedule) -> None:
    assert fees_from_json(fees_to_json(fees)) == fees


def test_a_fees_file_replaces_only_what_it_lists() -> None:
    configured = FeeSchedule(
        taker_fee_bps={"binance": 10.0, "okx": 8.0},
        withdraw_fees={"binance": {"BTC": 0.0002, "ETH": 0.001}},
        withdrawals_disabled=frozenset({("okx", "XRP")}),
    )
    merged = parse_fees({"taker_fee_bps": {"okx": 7.5}, "withdraw_fees": {"binance": {"ETH": 0.002}}}).apply_to(
        configured
    )
    assert merged.taker_fee_bps == {"binance": 10.0, "okx": 7.5}
    assert merged.withdraw_fees == {"binance": {"BTC": 0.0002, "ETH": 0.002}}
    assert merged.withdrawals_disabled == configured.withdrawals_disabled
    assert merged.default_taker_fee_bps == configured.default_taker_fee_bps
