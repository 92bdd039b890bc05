"""The simulated market's deposit and withdrawal networks: what it costs to move a coin
between two venues, which wallets are closed, and which ticker names another coin.

The demo seeds these into the database the way `sync_fees` would from real exchanges, so
the scan's transfer routes (docs/design.md, "Transfer routes") have something real to
say: most pairs have a cheap open route, one venue has one coin's wallet closed for
maintenance (`no_transfer_route`), and one venue lists a different token under a known
ticker (`asset_mismatch`), whose price the market then quotes on its own walk.

Fees and contracts are plausible 2024-era figures (the real tokens' contracts), not
measurements. No Django here: the demo turns the listings into rows.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# asset -> [(network, typical withdrawal fee in asset units, token contract or None)]. The
# first network is listed by every venue; the others by most.
CATALOGUE: dict[str, tuple[tuple[str, float, str | None], ...]] = {
    "BTC": (("BTC", 0.0002, None), ("LIGHTNING", 0.00001, None)),
    "ETH": (("ERC20", 0.0015, None), ("ARBITRUM", 0.0001, None), ("OPTIMISM", 0.0001, None)),
    "SOL": (("SOL", 0.008, None),),
    "XRP": (("XRP", 0.25, None),),
    "BNB": (("BEP20", 0.0008, None),),
    "DOGE": (("DOGE", 4.0, None),),
    "ADA": (("ADA", 0.8, None),),
    "LTC": (("LTC", 0.001, None),),
    "LINK": (
        ("ERC20", 0.35, "0x514910771af9ca656af840dff83e8264ecf986ca"),
        ("BEP20", 0.015, "0xf8a0bf9cf54bb92f17374d9e9a321e6a111a51bd"),
    ),
    "AVAX": (("AVAXC", 0.008, None),),
    "USDT": (
        ("TRC20", 1.0, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
        ("ERC20", 4.0, "0xdac17f958d2ee523a2206206994597c13d831ec7"),
        ("SOL", 1.0, "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"),
    ),
    "USDC": (
        ("ERC20", 4.0, "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"),
        ("SOL", 1.0, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
    ),
}

# Venues known for listing every new token first: where a ticker collision is most likely.
COLLISION_VENUES = ("mexc", "gate", "htx")
COLLISION_ASSETS = ("LINK", "USDC")
CLOSED_ASSETS = ("SOL", "XRP", "ADA", "DOGE")


@dataclass(frozen=True, slots=True)
class NetworkListing:
    """One venue's wallet for one coin on one network, as `sync_fees` stores it."""

    exchange: str
    asset: str
    network: str
    withdraw_fee: float
    withdraw_enabled: bool = True
    deposit_enabled: bool = True
    contract: str | None = None


@dataclass(frozen=True, slots=True)
class TransferWorld:
    listings: tuple[NetworkListing, ...]
    closed: tuple[str, str] | None = None  # (exchange, asset): no deposit, no withdrawal
    collision: tuple[str, str] | None = None  # (exchange, asset): another coin, same ticker
    # (exchange, asset) -> its listings by network: the market asks on every plant's every
    # calibration step, so the listings are grouped once, not scanned per question.
    _wallets: dict[tuple[str, str], dict[str, NetworkListing]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        wallets: dict[tuple[str, str], dict[str, NetworkListing]] = {}
        for listing in self.listings:
            wallets.setdefault((listing.exchange, listing.asset), {})[listing.network] = listing
        object.__setattr__(self, "_wallets", wallets)

    def transfer_fee(self, source: str, target: str, asset: str) -> float:
        """The cheapest fee (asset units) to move `asset` from `source` to `target`; 0 when
        there is no route, as the scan counts it (the opportunity is flagged instead)."""
        out = self._wallets.get((source, asset), {})
        into = self._wallets.get((target, asset), {})
        fees = [
            sent.withdraw_fee
            for network, sent in out.items()
            if network in into
            and sent.withdraw_enabled
            and into[network].deposit_enabled
            and not _different(sent.contract, into[network].contract)
        ]
        return min(fees, default=0.0)

    def is_collision(self, exchange: str, symbol: str) -> bool:
        return self.collision is not None and self.collision[0] == exchange and self.collision[1] in symbol.split("-")


def transfer_world(assets: Iterable[str], exchanges: Sequence[str], seed: int | None = None) -> TransferWorld:
    """Listings for every (exchange, asset): each venue charges its own multiple of the
    typical fee and lists the first network always, the others with probability 0.7."""
    rng = random.Random(f"networks:{seed}")
    assets = sorted(set(assets))
    closed = _pick(exchanges[len(exchanges) // 2 :], CLOSED_ASSETS, assets)
    collision = _pick(COLLISION_VENUES, COLLISION_ASSETS, assets, among=exchanges)
    listings: list[NetworkListing] = []
    for exchange in exchanges:
        multiple = rng.uniform(0.8, 1.6)
        for asset in assets:
            catalogue = CATALOGUE.get(asset) or (("ERC20", 1.0, _made_up_contract(asset)),)
            for i, (network, fee, contract) in enumerate(catalogue):
                listed = i == 0 or rng.random() < 0.7
                if not listed:
                    continue
                if (exchange, asset) == collision:
                    if i > 0:
                        continue  # the other coin lives on one network only
                    contract = _made_up_contract(f"{asset}:{exchange}")
                open_ = (exchange, asset) != closed
                listings.append(
                    NetworkListing(
                        exchange=exchange,
                        asset=asset,
                        network=network,
                        withdraw_fee=float(f"{fee * multiple:.6g}"),
                        withdraw_enabled=open_,
                        deposit_enabled=open_,
                        contract=contract,
                    )
                )
    return TransferWorld(listings=tuple(listings), closed=closed, collision=collision)


def _pick(
    venues: Sequence[str], candidates: Sequence[str], assets: Sequence[str], among: Sequence[str] | None = None
) -> tuple[str, str] | None:
    venue = next((v for v in venues if among is None or v in among), None)
    if venue is None and among:
        venue = among[-1]
    asset = next((a for a in candidates if a in assets), None)
    return (venue, asset) if venue is not None and asset is not None else None


def _made_up_contract(name: str) -> str:
    return "0x" + hashlib.sha256(name.encode()).hexdigest()[:40]


def _different(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() != b.lower()
