"""The simulated market's constants: how each venue's books look and how each asset moves.

Numbers are plausible orders of magnitude for 2024-era spot markets, not measurements:
the big venues have the tightest spreads and deepest books, smaller ones are wider,
thinner and a little slower. Unknown venues and assets get a profile derived from their
name, so the same name always looks the same.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ExchangeProfile:
    spread_bps: float  # top-of-book spread of a liquid pair (BTC-USDT)
    depth: float  # multiplier of the notional resting on each level
    step_bps: float  # typical distance between consecutive levels
    lag_ms: int  # typical ts_ingest - ts_event


@dataclass(frozen=True, slots=True)
class AssetProfile:
    price_usdt: float  # initial fair price
    annual_vol: float  # volatility of the log price per year
    liquidity: float  # 1.0 = BTC; scales depth down and spreads up


EXCHANGE_PROFILES: dict[str, ExchangeProfile] = {
    "binance": ExchangeProfile(spread_bps=0.4, depth=1.00, step_bps=0.6, lag_ms=25),
    "okx": ExchangeProfile(spread_bps=0.6, depth=0.85, step_bps=0.8, lag_ms=35),
    "bybit": ExchangeProfile(spread_bps=0.8, depth=0.75, step_bps=0.8, lag_ms=35),
    "coinbase": ExchangeProfile(spread_bps=1.2, depth=0.60, step_bps=1.0, lag_ms=45),
    "kraken": ExchangeProfile(spread_bps=2.0, depth=0.45, step_bps=1.5, lag_ms=60),
    "kucoin": ExchangeProfile(spread_bps=2.0, depth=0.40, step_bps=1.5, lag_ms=70),
    "gate": ExchangeProfile(spread_bps=2.5, depth=0.35, step_bps=2.0, lag_ms=80),
    "htx": ExchangeProfile(spread_bps=2.5, depth=0.30, step_bps=2.0, lag_ms=90),
    "bitget": ExchangeProfile(spread_bps=1.5, depth=0.50, step_bps=1.2, lag_ms=50),
    "mexc": ExchangeProfile(spread_bps=3.0, depth=0.30, step_bps=2.0, lag_ms=100),
    "bitfinex": ExchangeProfile(spread_bps=3.0, depth=0.30, step_bps=2.5, lag_ms=70),
    "bitstamp": ExchangeProfile(spread_bps=3.5, depth=0.25, step_bps=2.5, lag_ms=60),
    "gemini": ExchangeProfile(spread_bps=4.0, depth=0.20, step_bps=3.0, lag_ms=80),
    "cryptocom": ExchangeProfile(spread_bps=2.0, depth=0.40, step_bps=1.5, lag_ms=60),
}

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


def exchange_profile(exchange: str) -> ExchangeProfile:
    known = EXCHANGE_PROFILES.get(exchange)
    if known is not None:
        return known
    rng = random.Random(f"exchange:{exchange}")
    return ExchangeProfile(
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
