"""The simulated market's constants: how each venue's books look (from the exchange
registry) and how each asset moves.

Numbers are plausible orders of magnitude for 2024-era spot markets, not measurements:
the big venues have the tightest spreads and deepest books, smaller ones are wider,
thinner and a little slower. Unknown venues and assets get a profile derived from their
name, so the same name always looks the same.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from exchanges import registry
from exchanges.registry import SimulatedVenue


@dataclass(frozen=True, slots=True)
class AssetProfile:
    price_usdt: float  # initial fair price
    annual_vol: float  # volatility of the log price per year
    liquidity: float  # 1.0 = BTC; scales depth down and spreads up


ASSET_PROFILES: dict[str, AssetProfile] = {
    "BTC": AssetProfile(price_usdt=60_000.0, annual_vol=0.50, liquidity=1.00),
    "ETH": AssetProfile(price_usdt=3_000.0, annual_vol=0.65, liquidity=0.70),
    "SOL": AssetProfile(price_usdt=150.0, annual_vol=0.90, liquidity=0.30),
    "XRP": AssetProfile(price_usdt=0.6, annual_vol=0.80, liquidity=0.25),
    "BNB": AssetProfile(price_usdt=550.0, annual_vol=0.55, liquidity=0.15),
    "DOGE": AssetProfile(price_usdt=0.15, annual_vol=1.00, liquidity=0.15),
    "ADA": AssetProfile(price_usdt=0.45, annual_vol=0.85, liquidity=0.08),
    "LTC": AssetProfile(price_usdt=80.0, annual_vol=0.70, liquidity=0.06),
    "LINK": AssetProfile(price_usdt=15.0, annual_vol=0.85, liquidity=0.06),
    "AVAX": AssetProfile(price_usdt=35.0, annual_vol=0.95, liquidity=0.06),
    # Stablecoins: the quote currency itself, and pegs that barely move against it.
    "USDT": AssetProfile(price_usdt=1.0, annual_vol=0.0, liquidity=1.00),
    "USDC": AssetProfile(price_usdt=1.0, annual_vol=0.01, liquidity=0.80),
    "FDUSD": AssetProfile(price_usdt=1.0, annual_vol=0.01, liquidity=0.30),
    "DAI": AssetProfile(price_usdt=1.0, annual_vol=0.01, liquidity=0.20),
}

STABLECOINS = frozenset({"USDT", "USDC", "FDUSD", "DAI"})

# Cross pairs (ETH-BTC, quoted in anything but a stablecoin) trade thinner than their legs.
CROSS_LIQUIDITY = 0.3


def exchange_profile(exchange: str) -> SimulatedVenue:
    """The registry's figures for the product's exchanges; made up from the name for others."""
    known = registry.BY_ID.get(exchange)
    if known is not None:
        return known.simulated
    rng = random.Random(f"exchange:{exchange}")
    return SimulatedVenue(
        spread_bps=round(rng.uniform(1.5, 5.0), 1),
        depth=round(rng.uniform(0.15, 0.5), 2),
        step_bps=round(rng.uniform(1.0, 3.0), 1),
        lag_ms=rng.randint(40, 150),
    )


def asset_profile(asset: str, seed: int | None) -> AssetProfile:
    known = ASSET_PROFILES.get(asset)
    if known is not None:
        return known
    # Log-uniform so a made-up asset is as likely to cost cents as hundreds of dollars.
    rng = random.Random(f"asset:{asset}:{seed}") if seed is not None else random.Random()
    return AssetProfile(
        price_usdt=round(10 ** rng.uniform(-1.5, 2.5), 6),
        annual_vol=round(rng.uniform(0.8, 1.3), 2),
        liquidity=round(rng.uniform(0.02, 0.06), 3),
    )
