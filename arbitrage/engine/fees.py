"""Fee schedules as JSON, one codec for every place they cross a boundary.

The same shape is the `scan --fees FILE.json` file (docs/design.md, "Contracts") and the
settings a sharded scan sends its shards:

    {"taker_fee_bps": {"binance": 10, "okx": 7.5},
     "default_taker_fee_bps": 10,
     "withdraw_fees": {"binance": {"BTC": 0.0002}},
     "withdrawals_disabled": {"kraken": ["XRP"]},
     "networks": {"binance": {"USDC": [{"network": "ERC20", "withdraw_fee": 5,
                  "withdraw_enabled": true, "deposit_enabled": true, "contract": "0xa0b8..."}]}}}

Every key is optional. `parse_fees` validates a decoded document once, naming the first
entry at fault; the result lists only what the document listed, so that merged over the
configured fees "the values it lists win" (`FeeOverrides.apply_to`): a pair (exchange,
asset) it lists networks for replaces that pair's networks, and a pair it lists only in
`withdraw_fees` drops them (the flat fee then applies). `fees_to_json` is
its inverse: `parse_fees(fees_to_json(f)).apply_to(FeeSchedule()) == f`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arbitrage.engine.types import FeeSchedule, Network
from kernel.ids import ASSET_HELP, EXCHANGE_ID_HELP, is_asset, is_exchange_id
from kernel.text import brief

KEYS = ("taker_fee_bps", "default_taker_fee_bps", "withdraw_fees", "withdrawals_disabled", "networks")
NETWORK_KEYS = ("network", "withdraw_fee", "withdraw_enabled", "deposit_enabled")  # and optional "contract"
MAX_NETWORK_CHARS = 64
MAX_CONTRACT_CHARS = 128
MAX_TAKER_FEE_BPS = 10_000  # 100 %: a fee at or above it leaves nothing to trade


@dataclass(frozen=True, slots=True)
class FeeOverrides:
    """What one fees document lists, and nothing else."""

    taker_fee_bps: dict[str, float] = dataclasses.field(default_factory=dict)
    default_taker_fee_bps: float | None = None
    withdraw_fees: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    withdrawals_disabled: frozenset[tuple[str, str]] = frozenset()
    # An empty tuple is listed too: it removes that pair's configured networks.
    networks: dict[str, dict[str, tuple[Network, ...]]] = dataclasses.field(default_factory=dict)

    def apply_to(self, configured: FeeSchedule) -> FeeSchedule:
        """`configured` with every value listed here replacing its own."""
        withdraw = {exchange: dict(assets) for exchange, assets in configured.withdraw_fees.items()}
        for exchange, assets in self.withdraw_fees.items():
            withdraw.setdefault(exchange, {}).update(assets)
        networks = {exchange: dict(assets) for exchange, assets in configured.networks.items()}
        for exchange, assets in self.withdraw_fees.items():
            for asset in assets:
                if asset not in self.networks.get(exchange, {}):
                    networks.get(exchange, {}).pop(asset, None)
        for exchange, listed in self.networks.items():
            for asset, entries in listed.items():
                networks.setdefault(exchange, {})[asset] = entries
        return FeeSchedule(
            taker_fee_bps={**configured.taker_fee_bps, **self.taker_fee_bps},
            default_taker_fee_bps=(
                configured.default_taker_fee_bps if self.default_taker_fee_bps is None else self.default_taker_fee_bps
            ),
            withdraw_fees=withdraw,
            withdrawals_disabled=configured.withdrawals_disabled | self.withdrawals_disabled,
            networks={
                exchange: {asset: entries for asset, entries in assets.items() if entries}
                for exchange, assets in networks.items()
                if any(assets.values())
            },
        )


def fees_to_json(fees: FeeSchedule) -> dict[str, Any]:
    disabled: dict[str, list[str]] = {}
    for exchange, asset in sorted(fees.withdrawals_disabled):
        disabled.setdefault(exchange, []).append(asset)
    return {
        "taker_fee_bps": dict(fees.taker_fee_bps),
        "default_taker_fee_bps": fees.default_taker_fee_bps,
        "withdraw_fees": {exchange: dict(assets) for exchange, assets in fees.withdraw_fees.items()},
        "withdrawals_disabled": disabled,
        "networks": {
            exchange: {asset: [network_to_json(n) for n in entries] for asset, entries in assets.items()}
            for exchange, assets in fees.networks.items()
        },
    }


def network_to_json(network: Network) -> dict[str, Any]:
    return {
        "network": network.network,
        "withdraw_fee": network.withdraw_fee,
        "withdraw_enabled": network.withdraw_enabled,
        "deposit_enabled": network.deposit_enabled,
        "contract": network.contract,
    }


def fees_from_json(raw: Any) -> FeeSchedule:
    """A whole schedule from its JSON (what is not listed takes the engine's defaults)."""
    return parse_fees(raw).apply_to(FeeSchedule())


def parse_fees(raw: Any) -> FeeOverrides:
    """Validate a decoded fees document; ValueError names the first entry at fault."""
    if not isinstance(raw, dict):
        raise ValueError("expected a JSON object with taker_fee_bps and/or withdraw_fees")
    unknown = sorted(str(key) for key in set(raw) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))}: expected {', '.join(KEYS)}")
    taker = {
        exchange: _taker_bps(value, f"taker_fee_bps.{exchange}")
        for exchange, value in _by_exchange(raw.get("taker_fee_bps", {}), "taker_fee_bps").items()
    }
    default = raw.get("default_taker_fee_bps")
    withdraw: dict[str, dict[str, float]] = {}
    for exchange, assets in _by_exchange(raw.get("withdraw_fees", {}), "withdraw_fees").items():
        where = f"withdraw_fees.{exchange}"
        if not isinstance(assets, dict):
            raise ValueError(f"{where}: expected an object of ASSET: fee")
        withdraw[exchange] = {_asset(asset, where): _fee(value, f"{where}.{asset}") for asset, value in assets.items()}
    disabled: set[tuple[str, str]] = set()
    for exchange, assets in _by_exchange(raw.get("withdrawals_disabled", {}), "withdrawals_disabled").items():
        where = f"withdrawals_disabled.{exchange}"
        if not isinstance(assets, list):
            raise ValueError(f"{where}: expected a list of assets")
        disabled.update((exchange, _asset(asset, where)) for asset in assets)
    networks: dict[str, dict[str, tuple[Network, ...]]] = {}
    for exchange, assets in _by_exchange(raw.get("networks", {}), "networks").items():
        where = f"networks.{exchange}"
        if not isinstance(assets, dict):
            raise ValueError(f"{where}: expected an object of ASSET: [network, ...]")
        networks[exchange] = {}
        for asset, entries in assets.items():
            at = f"{where}.{_asset(asset, where)}"
            if not isinstance(entries, list):
                raise ValueError(f"{at}: expected a list of networks")
            networks[exchange][asset] = tuple(_network(entry, f"{at}[{i}]") for i, entry in enumerate(entries))
    return FeeOverrides(
        taker_fee_bps=taker,
        default_taker_fee_bps=None if default is None else _taker_bps(default, "default_taker_fee_bps"),
        withdraw_fees=withdraw,
        withdrawals_disabled=frozenset(disabled),
        networks=networks,
    )


def _network(raw: Any, where: str) -> Network:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object with {', '.join(NETWORK_KEYS)} (and optionally contract)")
    missing = [key for key in NETWORK_KEYS if key not in raw]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    code = raw["network"]
    if not isinstance(code, str) or not code.strip() or len(code) > MAX_NETWORK_CHARS:
        raise ValueError(f"{where}.network: expected a network code such as ERC20, got {brief(code)}")
    for flag in ("withdraw_enabled", "deposit_enabled"):
        if not isinstance(raw[flag], bool):
            raise ValueError(f"{where}.{flag}: expected true or false, got {brief(raw[flag])}")
    contract = raw.get("contract")
    if contract is not None and (not isinstance(contract, str) or len(contract) > MAX_CONTRACT_CHARS):
        raise ValueError(f"{where}.contract: expected a contract address or null, got {brief(contract)}")
    return Network.of(
        code,
        _fee(raw["withdraw_fee"], f"{where}.withdraw_fee"),
        raw["withdraw_enabled"],
        raw["deposit_enabled"],
        contract,
    )


def _by_exchange(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object keyed by exchange id")
    for exchange in raw:
        if not isinstance(exchange, str) or not is_exchange_id(exchange):
            raise ValueError(f"{where}: expected {EXCHANGE_ID_HELP}, got {brief(exchange)}")
    return raw


def _asset(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not is_asset(raw):
        raise ValueError(f"{where}: expected {ASSET_HELP}, got {brief(raw)}")
    return raw


def _taker_bps(raw: Any, where: str) -> float:
    value = _fee(raw, where)
    if value >= MAX_TAKER_FEE_BPS:
        raise ValueError(f"{where}: a fee in basis points must be below {MAX_TAKER_FEE_BPS}, got {brief(raw)}")
    return value


def _fee(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError(f"{where}: expected a non-negative number, got {brief(raw)}")
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: expected a non-negative number, got {brief(raw)}")
    return value
