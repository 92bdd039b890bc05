"""Transfer routes: how the base asset of a spatial opportunity gets from the exchange it is
bought on to the one it is sold on (docs/design.md, "Transfer routes").

1. Networks listed on both sides: a route is a network both list, open for withdrawal at
   the source and for deposit at the destination, without two known, different contracts.
   The cheapest route sets the fee (ties: the code sorting first) and no flag. Without one,
   the cost is 0, flagged `asset_mismatch` when a shared network names two different
   contracts, else `no_transfer_route`.
2. Networks on the source only: its cheapest network open for withdrawal, flagged
   `route_unverified` (the destination's deposits are unknown); none open: cost 0,
   `no_transfer_route`.
3. No networks on the source: the flat fee (`withdraw_fee_unknown` when there is none,
   `withdrawals_disabled` when the flat data says so).
"""

from __future__ import annotations

from dataclasses import dataclass

from arbitrage.engine.types import (
    RISK_ASSET_MISMATCH,
    RISK_NO_TRANSFER_ROUTE,
    RISK_ROUTE_UNVERIFIED,
    RISK_WITHDRAW_FEE_UNKNOWN,
    RISK_WITHDRAWALS_DISABLED,
    FeeSchedule,
    Network,
)


@dataclass(frozen=True, slots=True)
class TransferRoute:
    """What moving the asset costs (in its units) and over which network, and the flags it
    raises (a subset of the five transfer flags)."""

    withdraw_fee: float
    network: str | None
    flags: frozenset[str] = frozenset()


_NO_ROUTE = TransferRoute(0.0, None, frozenset({RISK_NO_TRANSFER_ROUTE}))
_MISMATCH = TransferRoute(0.0, None, frozenset({RISK_ASSET_MISMATCH}))


def transfer_route(fees: FeeSchedule, source: str, destination: str, asset: str) -> TransferRoute:
    outbound = fees.networks_of(source, asset)
    if not outbound:
        return _flat(fees, source, asset)
    inbound = fees.networks_of(destination, asset)
    if not inbound:
        opened = [n for n in outbound if n.withdraw_enabled]
        if not opened:
            return _NO_ROUTE
        best = _cheapest(opened)
        return TransferRoute(best.withdraw_fee, best.network, frozenset({RISK_ROUTE_UNVERIFIED}))
    routes: list[Network] = []
    mismatch = False
    for out in outbound:
        for into in inbound:
            if out.network != into.network:
                continue
            if out.contract and into.contract and out.contract != into.contract:
                mismatch = True
            elif out.withdraw_enabled and into.deposit_enabled:
                routes.append(out)
    if routes:
        best = _cheapest(routes)
        return TransferRoute(best.withdraw_fee, best.network)
    return _MISMATCH if mismatch else _NO_ROUTE


def cheapest_possible_fee(fees: FeeSchedule, source: str, asset: str) -> float:
    """A lower bound of `transfer_route(...).withdraw_fee` over every destination, for
    pruning: 0 where networks are listed (a missing route costs nothing)."""
    if fees.networks_of(source, asset):
        return 0.0
    return fees.withdraw_fee(source, asset) or 0.0


def _flat(fees: FeeSchedule, source: str, asset: str) -> TransferRoute:
    fee = fees.withdraw_fee(source, asset)
    flags = set()
    if (source, asset) in fees.withdrawals_disabled:
        flags.add(RISK_WITHDRAWALS_DISABLED)
    if fee is None:
        flags.add(RISK_WITHDRAW_FEE_UNKNOWN)
    return TransferRoute(fee or 0.0, None, frozenset(flags))


def _cheapest(networks: list[Network]) -> Network:
    return min(networks, key=lambda n: (n.withdraw_fee, n.network))
