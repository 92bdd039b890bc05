"""Builds the engine's inputs (ScanParams, FeeSchedule) from what admins set in the database."""

from __future__ import annotations

from arbitrage.engine.types import FeeSchedule, ScanParams
from arbitrage.models import ScannerSettings
from exchanges.models import Exchange, WithdrawalFee


def load_params() -> ScanParams:
    # Read-only: a scan never writes the settings row (the defaults stand until an admin saves).
    row = ScannerSettings.objects.filter(pk=1).first() or ScannerSettings()
    return row.to_params()


def load_fees() -> FeeSchedule:
    taker = {ex.id: float(ex.taker_fee_bps) for ex in Exchange.objects.all()}
    withdraw: dict[str, dict[str, float]] = {}
    disabled: set[tuple[str, str]] = set()
    enabled_seen: set[tuple[str, str]] = set()
    # An asset can be withdrawn over several networks: the cheapest enabled one is what a
    # trader would use. When every network is disabled the asset is flagged, at its lowest fee.
    for row in WithdrawalFee.objects.all().order_by("fee"):
        key = (row.exchange_id, row.asset)
        if row.withdrawals_enabled:
            if key not in enabled_seen:
                withdraw.setdefault(row.exchange_id, {})[row.asset] = float(row.fee)
                enabled_seen.add(key)
        elif key not in enabled_seen:
            withdraw.setdefault(row.exchange_id, {}).setdefault(row.asset, float(row.fee))
            disabled.add(key)
    return FeeSchedule(
        taker_fee_bps=taker,
        withdraw_fees=withdraw,
        withdrawals_disabled=frozenset(disabled - enabled_seen),
    )


def load_scan_config() -> tuple[ScanParams, FeeSchedule]:
    return load_params(), load_fees()
