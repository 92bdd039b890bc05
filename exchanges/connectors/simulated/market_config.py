"""The knobs of the simulated market, with defaults that look like a real one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class FeaturedPlant:
    """A spatial plant the market keeps coming back to (the demo's showcase): `exchange` is
    cheap (`side="buy"`) or rich (`"sell"`) on `symbol`, against `partner` when given."""

    symbol: str
    exchange: str
    side: Literal["buy", "sell"]
    partner: str = ""


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    levels: int = 25
    # Plants arrive as a Poisson process, so the rate does not depend on the tick interval.
    spatial_plants_per_minute: float = 1.0
    triangular_plants_per_minute: float = 0.25
    max_active_plants: int = 2
    # Plant a spatial edge on the first tick, so a first look at the demo shows one at once.
    plant_on_start: bool = False
    plant_lifetime_sec: tuple[float, float] = (15.0, 30.0)  # 3-6 scans of 5 s
    spatial_edge_pct: tuple[float, float] = (0.4, 1.2)
    triangular_edge_pct: tuple[float, float] = (0.3, 1.0)
    # The costs plants are calibrated against (the scanner's defaults).
    notional_usdt: float = 1000.0
    taker_fee_bps: float = 10.0
    slippage_bps: float = 5.0
    # Each venue's deviation from the fair price: stationary sd, hard cap, half-life.
    venue_noise_bps: float = 3.0
    venue_noise_cap_bps: float = 7.0
    venue_noise_half_life_sec: float = 10.0
    market_correlation: float = 0.5
    level_notional_usdt: float = 60_000.0  # per level on binance BTC-USDT; scaled down elsewhere
    # Planted on the first tick and again every featured_every_sec (when free).
    featured_plants: tuple[FeaturedPlant, ...] = ()
    featured_every_sec: float = 60.0
    # How far above the real coin a ticker collision's other coin starts (networks.py).
    collision_premium_pct: float = 3.0

    def __post_init__(self) -> None:
        if self.levels < 1:
            raise ValueError("levels must be >= 1")
        for name in ("plant_lifetime_sec", "spatial_edge_pct", "triangular_edge_pct"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must be a range 0 < low <= high, got {(low, high)}")
        if self.spatial_plants_per_minute < 0 or self.triangular_plants_per_minute < 0:
            raise ValueError("plant rates must be >= 0")
        if self.featured_every_sec <= 0:
            raise ValueError("featured_every_sec must be > 0")
        if not 0 <= self.market_correlation <= 1:
            raise ValueError("market_correlation must be in [0, 1]")
        # The promise of an arbitrage-free market between plants: two venues' deviations
        # from the fair price, at worst opposite caps, never pay for both fees and slippage.
        if 2 * self.venue_noise_cap_bps >= 2 * self.taker_fee_bps + self.slippage_bps:
            raise ValueError("venue_noise_cap_bps is too large: unplanted venue noise would beat the fees")
