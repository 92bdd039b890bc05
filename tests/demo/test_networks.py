"""The demo stores the simulated networks like sync_fees stores real ones, and the scan reads
them: a route with its network, a closed wallet and a ticker collision, each flagged."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arbitrage.runtime.config import load_fees
from demo.networks import store_networks
from exchanges.connectors.simulated import transfer_world
from exchanges.models import WithdrawalFee

pytestmark = pytest.mark.django_db

VENUES = ["binance", "okx", "htx", "mexc"]


def test_networks_are_stored_once_per_listing_and_an_admins_row_is_left_alone():
    world = transfer_world({"ETH", "LINK", "SOL", "USDT"}, VENUES)
    listing = world.listings[0]
    WithdrawalFee.objects.create(
        exchange_id=listing.exchange,
        asset=listing.asset,
        network=listing.network,
        fee=Decimal("123"),
        set_by_admin=True,
    )
    assert store_networks(world) == len(world.listings) - 1
    assert store_networks(world) == len(world.listings) - 1  # a second start refreshes, never duplicates
    assert WithdrawalFee.objects.count() == len(world.listings)
    kept = WithdrawalFee.objects.get(exchange_id=listing.exchange, asset=listing.asset, network=listing.network)
    assert kept.fee == Decimal("123") and kept.set_by_admin


def test_the_scan_reads_the_stored_networks():
    world = transfer_world({"ETH", "LINK", "SOL", "USDT"}, VENUES)
    store_networks(world)
    fees = load_fees()
    assert world.closed is not None and world.collision is not None
    venue, asset = world.closed
    assert fees.networks[venue][asset]
    assert not any(n.withdraw_enabled or n.deposit_enabled for n in fees.networks[venue][asset])
    venue, asset = world.collision
    contracts = {n.contract for n in fees.networks[venue][asset]}
    assert contracts and None not in contracts
