"""The engine's inputs (ScanParams, FeeSchedule) from what admins set in the database, and
the last ones read while the database is away."""

from __future__ import annotations

import logging
import threading

from django.db import DatabaseError, close_old_connections

from arbitrage.engine.types import FeeSchedule, Network, ScanParams
from arbitrage.models import ScannerSettings
from exchanges.models import Exchange, WithdrawalFee
from kernel.throttle import Throttle

logger = logging.getLogger(__name__)


DEFAULT_SCAN_INTERVAL_SEC = float(ScannerSettings().scan_interval_sec)
_outage_log = Throttle(60.0)


def load_params() -> ScanParams:
    return ScannerSettings.current().to_params()


def scan_interval_sec(fallback: float = DEFAULT_SCAN_INTERVAL_SEC) -> float:
    """The scan cadence an admin set; `fallback` while the database cannot be read."""
    try:
        return float(ScannerSettings.current().scan_interval_sec)
    except DatabaseError as exc:
        close_old_connections()
        held_back = _outage_log.allow("scan interval")
        if held_back is not None:  # once a minute through an outage, not every tick
            logger.warning(
                "scan interval unavailable", extra={"error": str(exc), "using": fallback, "repeats": held_back}
            )
        return fallback


def scan_lease_sec(interval_sec: float | None = None) -> float:
    """The scan lease's time to live: shorter than one interval, so the lease of a scanner
    that died is gone before the next scan is due (a running scan renews it)."""
    interval = scan_interval_sec() if interval_sec is None else interval_sec
    return max(1.0, 0.8 * interval)


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
        networks=_networks(),
    )


def _networks() -> dict[str, dict[str, tuple[Network, ...]]]:
    """Every row that names its network, as the transfer routes read them (a row without
    a network only gives the flat fee)."""
    networks: dict[str, dict[str, list[Network]]] = {}
    for row in WithdrawalFee.objects.exclude(network="").order_by("exchange_id", "asset", "network"):
        networks.setdefault(row.exchange_id, {}).setdefault(row.asset, []).append(
            Network.of(row.network, float(row.fee), row.withdrawals_enabled, row.deposits_enabled, row.contract)
        )
    return {exchange: {asset: tuple(rows) for asset, rows in assets.items()} for exchange, assets in networks.items()}


def load_scan_config() -> tuple[ScanParams, FeeSchedule]:
    """Both, from the database; raises DatabaseError."""
    return load_params(), load_fees()


class _LastKnown:
    def __init__(self) -> None:
        self.config: tuple[ScanParams, FeeSchedule] | None = None
        self.lock = threading.Lock()


_last_known = _LastKnown()


def load_config(errors: list[str]) -> tuple[ScanParams, FeeSchedule]:
    """The scan settings from the database; while it is unreachable, the last ones this
    process read (or the defaults), with the reason appended to `errors`."""
    try:
        config = load_scan_config()
    except DatabaseError as exc:
        close_old_connections()
        errors.append(f"settings unavailable, using the last known: {exc}")
        logger.warning("scan settings unavailable", extra={"error": str(exc)})
        with _last_known.lock:
            return _last_known.config or (ScanParams(), FeeSchedule())
    with _last_known.lock:
        _last_known.config = config
    return config
