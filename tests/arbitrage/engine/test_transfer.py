"""Transfer routes (docs/design.md, "Transfer routes"): worked examples of each rule, as a
trader meets them on a spatial opportunity (okx buys BTC at 100, binance bids 101), and
properties of the route choice."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from arbitrage.engine.fees import fees_from_json, parse_fees
from arbitrage.engine.scan import scan_books
from arbitrage.engine.transfer import transfer_route
from arbitrage.engine.types import FeeSchedule, Network, Opportunity, ScanParams
from tests.arbitrage.engine.factories import NOW, book

USDC_ERC20 = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"


def net(code: str, fee: float = 0.0005, *, out: bool = True, into: bool = True, contract: str | None = None) -> Network:
    return Network.of(code, fee, out, into, contract)


def fees_with(okx: list[Network] | None = None, binance: list[Network] | None = None, **flat: object) -> FeeSchedule:
    networks = {}
    if okx is not None:
        networks["okx"] = {"BTC": tuple(okx)}
    if binance is not None:
        networks["binance"] = {"BTC": tuple(binance)}
    return FeeSchedule(networks=networks, **flat)  # type: ignore[arg-type]


def okx_to_binance(fees: FeeSchedule) -> Opportunity:
    books = [
        book("okx", "BTC-USDT", bids=[[99.9, 100]], asks=[[100, 100]]),
        book("binance", "BTC-USDT", bids=[[101, 100]], asks=[[101.1, 100]]),
    ]
    [found] = scan_books(books, NOW, ScanParams(), fees).opportunities
    assert (found.buy_exchange, found.sell_exchange) == ("okx", "binance")
    return found


# --- rule 1: networks on both sides ------------------------------------------------------


def test_the_cheapest_shared_open_network_carries_the_coin() -> None:
    o = okx_to_binance(
        fees_with(
            okx=[net("BTC", 0.0005), net("bep20", 0.00001), net("LIGHTNING", 0.000001)],
            binance=[net("BTC"), net("BEP20")],  # no lightning deposits listed on binance
        )
    )
    assert (o.transfer_network, o.risk_flags) == ("BEP20", [])
    # 10 BTC bought: 0.00001 BTC of fee is 0.0001 % of the trade.
    assert o.withdraw_pct == pytest.approx(0.00001 * 100 / (100 * 10) * 100)


def test_a_route_needs_withdrawals_at_the_source_and_deposits_at_the_destination() -> None:
    o = okx_to_binance(
        fees_with(okx=[net("BTC", 0.0005), net("BEP20", 0.00001)], binance=[net("BTC"), net("BEP20", into=False)])
    )
    assert (o.transfer_network, o.risk_flags) == ("BTC", [])
    assert o.withdraw_pct == pytest.approx(0.0005 * 100 / 1000 * 100)


def test_equal_fees_go_to_the_code_sorting_first() -> None:
    o = okx_to_binance(
        fees_with(okx=[net("TRC20", 0.0001), net("ERC20", 0.0001)], binance=[net("trc20"), net("erc20")])
    )
    assert o.transfer_network == "ERC20"


def test_no_open_shared_network_is_no_transfer_route_at_no_cost() -> None:
    o = okx_to_binance(fees_with(okx=[net("BTC", out=False), net("BEP20")], binance=[net("BTC"), net("SOL")]))
    assert (o.transfer_network, o.risk_flags, o.withdraw_pct) == (None, ["no_transfer_route"], 0.0)


def test_two_contracts_on_a_shared_network_are_an_asset_mismatch() -> None:
    o = okx_to_binance(
        fees_with(okx=[net("ERC20", contract=USDC_ERC20)], binance=[net("ERC20", contract="0xdeadbeef")])
    )
    assert (o.transfer_network, o.risk_flag, o.withdraw_pct) == (None, "asset_mismatch", 0.0)


def test_contracts_compare_without_case_and_an_unknown_one_matches_any() -> None:
    same = fees_with(
        okx=[net("ERC20", 0.0002, contract=USDC_ERC20)], binance=[net("erc20", contract=USDC_ERC20.lower())]
    )
    assert okx_to_binance(same).transfer_network == "ERC20"
    unknown = fees_with(okx=[net("ERC20", 0.0002, contract=USDC_ERC20)], binance=[net("ERC20")])
    assert okx_to_binance(unknown).transfer_network == "ERC20"


def test_any_route_wins_over_a_mismatch_elsewhere() -> None:
    o = okx_to_binance(
        fees_with(
            okx=[net("ERC20", contract=USDC_ERC20), net("SOL", 0.01)],
            binance=[net("ERC20", contract="0xdeadbeef"), net("SOL")],
        )
    )
    assert (o.transfer_network, o.risk_flags) == ("SOL", [])


# --- rule 2: networks on the source only ---------------------------------------------------


def test_networks_on_the_buy_side_only_are_a_route_unverified() -> None:
    o = okx_to_binance(fees_with(okx=[net("BTC", 0.0005), net("BEP20", 0.00001, out=False)]))
    assert (o.transfer_network, o.risk_flags) == ("BTC", ["route_unverified"])
    assert o.withdraw_pct > 0


def test_no_open_network_on_the_buy_side_is_no_transfer_route() -> None:
    o = okx_to_binance(fees_with(okx=[net("BTC", out=False)]))
    assert (o.transfer_network, o.risk_flags) == (None, ["no_transfer_route"])


# --- rule 3: no networks on the source ------------------------------------------------------


def test_without_networks_the_flat_fee_applies() -> None:
    o = okx_to_binance(fees_with(binance=[net("BTC")], withdraw_fees={"okx": {"BTC": 0.0005}}))
    assert (o.transfer_network, o.risk_flags) == (None, [])
    assert o.withdraw_pct == pytest.approx(0.0005 * 100 / 1000 * 100)
    unknown = okx_to_binance(fees_with())
    assert unknown.risk_flags == ["withdraw_fee_unknown"]
    closed = okx_to_binance(
        fees_with(withdraw_fees={"okx": {"BTC": 0.0005}}, withdrawals_disabled=frozenset({("okx", "BTC")}))
    )
    assert closed.risk_flags == ["withdrawals_disabled"]


def test_a_transfer_flag_comes_first_and_the_rest_follow_in_order() -> None:
    books = [
        book("okx", "BTC-USDT", bids=[[99.9, 15]], asks=[[100, 15]], lag_ms=5_000),
        book("binance", "BTC-USDT", bids=[[110, 15]], asks=[[110.1, 15]]),
    ]
    fees = fees_with(okx=[net("ERC20", contract="0xa")], binance=[net("ERC20", contract="0xb")])
    [o] = scan_books(books, NOW, ScanParams(), fees).opportunities
    assert o.risk_flags == ["asset_mismatch", "extreme_edge", "high_lag", "thin_book"]
    assert o.risk_flag == "asset_mismatch"


def test_the_fees_file_networks_replace_and_flat_fees_drop_the_configured_ones() -> None:
    configured = fees_with(okx=[net("BTC", 0.0005)], binance=[net("BTC")])
    bep20 = {"network": "bep20", "withdraw_fee": 0.00001, "withdraw_enabled": True, "deposit_enabled": True}
    replaced = parse_fees({"networks": {"okx": {"BTC": [bep20]}}}).apply_to(configured)
    assert replaced.networks_of("okx", "BTC") == (net("BEP20", 0.00001),)
    assert okx_to_binance(replaced).risk_flags == ["no_transfer_route"]  # binance lists BTC only
    flat = parse_fees({"withdraw_fees": {"okx": {"BTC": 0.0001}}}).apply_to(configured)
    assert flat.networks_of("okx", "BTC") == () and flat.networks_of("binance", "BTC") == (net("BTC"),)
    assert okx_to_binance(flat).transfer_network is None
    emptied = parse_fees({"networks": {"okx": {"BTC": []}}}).apply_to(configured)
    assert emptied.networks_of("okx", "BTC") == ()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"network": "ERC20", "withdraw_fee": 1, "withdraw_enabled": True}, "missing deposit_enabled"),
        ({"network": "", "withdraw_fee": 1, "withdraw_enabled": True, "deposit_enabled": True}, "network code"),
        ({"network": "ERC20", "withdraw_fee": -1, "withdraw_enabled": True, "deposit_enabled": True}, "non-negative"),
        ({"network": "ERC20", "withdraw_fee": 1, "withdraw_enabled": "yes", "deposit_enabled": True}, "true or false"),
        (
            {"network": "ERC20", "withdraw_fee": 1, "withdraw_enabled": True, "deposit_enabled": True, "contract": 7},
            "contract address or null",
        ),
        ("ERC20", "expected an object"),
    ],
)
def test_a_bad_network_entry_is_named(entry: object, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        fees_from_json({"networks": {"okx": {"BTC": [entry]}}})
    assert "networks.okx.BTC[0]" in str(raised.value)


# --- properties --------------------------------------------------------------------------

CODES = st.sampled_from(["BTC", "ERC20", "TRC20", "BEP20", "SOL", "ARBONE"])
CONTRACTS = st.one_of(st.none(), st.sampled_from(["0xabc", "0xABC", "0xdef"]))
NETWORKS = st.builds(Network.of, CODES, st.floats(0, 1, allow_nan=False), st.booleans(), st.booleans(), CONTRACTS)
SIDES = st.lists(NETWORKS, max_size=5)


def route_between(source: list[Network], destination: list[Network]):  # type: ignore[no-untyped-def]
    return transfer_route(fees_with(okx=source, binance=destination), "okx", "binance", "BTC")


@given(SIDES, SIDES, CODES, st.floats(0, 1, allow_nan=False), CONTRACTS, st.booleans())
def test_a_closed_network_never_changes_the_route(source, destination, code, fee, contract, on_source) -> None:  # type: ignore[no-untyped-def]
    # On a side that lists networks: the first one listed moves a pair to another rule.
    assume(source if on_source else destination)
    before = route_between(source, destination)
    if on_source:
        after = route_between([*source, Network.of(code, fee, False, True, contract)], destination)
    else:
        after = route_between(source, [*destination, Network.of(code, fee, True, False, contract)])
    # A closed network can only add a mismatch to a pair that had no route anyway.
    assert (after.withdraw_fee, after.network) == (before.withdraw_fee, before.network)
    if before.network is not None:
        assert after.flags == before.flags


@given(SIDES, SIDES)
def test_codes_and_contracts_ignore_case(source, destination) -> None:  # type: ignore[no-untyped-def]
    def shouted(networks: list[Network]) -> list[Network]:
        return [
            Network.of(n.network.lower(), n.withdraw_fee, n.withdraw_enabled, n.deposit_enabled,
                       n.contract.upper() if n.contract else None)
            for n in networks
        ]  # fmt: skip

    assert route_between(shouted(source), shouted(destination)) == route_between(source, destination)


@given(SIDES, SIDES)
def test_the_route_is_the_cheapest_open_shared_network(source, destination) -> None:  # type: ignore[no-untyped-def]
    route = route_between(source, destination)
    if not source or not destination:
        return
    open_shared = [
        s for s in source for d in destination
        if s.network == d.network and s.withdraw_enabled and d.deposit_enabled
        and not (s.contract and d.contract and s.contract != d.contract)
    ]  # fmt: skip
    if open_shared:
        assert route.withdraw_fee == min(n.withdraw_fee for n in open_shared) and not route.flags
    else:
        assert route.network is None and route.withdraw_fee == 0.0
        assert route.flags in ({"asset_mismatch"}, {"no_transfer_route"})
