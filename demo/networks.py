"""The simulated market's transfer networks, stored the way `sync_fees` stores real ones,
so the demo's scans have routes to choose, a closed wallet and a ticker collision to flag."""

from __future__ import annotations

from decimal import Decimal

from exchanges.connectors.simulated import TransferWorld
from exchanges.models import WithdrawalFee


def store_networks(world: TransferWorld) -> int:
    """Insert or refresh a row per listing; a row an admin set by hand is left alone.
    Returns how many rows were written."""
    by_admin = set(WithdrawalFee.objects.filter(set_by_admin=True).values_list("exchange_id", "asset", "network"))
    rows = [
        WithdrawalFee(
            exchange_id=listing.exchange,
            asset=listing.asset,
            network=listing.network,
            fee=Decimal(repr(listing.withdraw_fee)),
            withdrawals_enabled=listing.withdraw_enabled,
            deposits_enabled=listing.deposit_enabled,
            contract=listing.contract or "",
        )
        for listing in world.listings
        if (listing.exchange, listing.asset, listing.network) not in by_admin
    ]
    WithdrawalFee.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["exchange", "asset", "network"],
        update_fields=["fee", "withdrawals_enabled", "deposits_enabled", "contract", "updated_at"],
    )
    return len(rows)
