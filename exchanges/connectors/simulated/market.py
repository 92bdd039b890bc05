"""A simulated spot market: one fair price per asset, a book per venue and symbol.

Each asset's fair price (in USDT) follows a geometric random walk at a realistic
volatility, correlated through a common market factor; cross pairs (ETH-BTC) are the ratio
of their legs. Every venue quotes around the fair price with its own small, mean-reverting
deviation, capped so that two venues never differ by enough to pay two taker fees and
slippage: without plants, the market holds no arbitrage. Plants (plants.py) add real,
short-lived edges on purpose.

Time is whatever the caller says (`tick(now_ms)`), so tests step it without sleeping.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Iterable

from exchanges.connectors.simulated.market_config import SimulationConfig
from exchanges.connectors.simulated.networks import TransferWorld
from exchanges.connectors.simulated.plant_picker import PlantPicker
from exchanges.connectors.simulated.plants import (
    PlantedEdge,
    calibrate,
    cycle_legs,
    cycle_ratio,
    round_price,
    shift_book,
    spatial_ratio,
)
from exchanges.connectors.simulated.profiles import CROSS_LIQUIDITY, STABLECOINS, asset_profile, exchange_profile
from kernel.book import Level, OrderBookSnapshot
from kernel.ids import EXCHANGE_ID_HELP, SYMBOL_HELP, is_exchange_id, is_symbol, split_symbol
from kernel.text import brief

logger = logging.getLogger(__name__)

SECONDS_PER_YEAR = 365 * 24 * 3600


class SimulatedMarket:
    """Books for every (exchange, symbol); no Django, no I/O, deterministic with a seed."""

    def __init__(
        self,
        symbols: Iterable[str],
        exchanges: Iterable[str],
        config: SimulationConfig | None = None,
        seed: int | None = None,
        transfers: TransferWorld | None = None,
    ) -> None:
        self.symbols = _unique(symbols, _check_symbol)
        self.exchanges = _unique(exchanges, _check_exchange)
        if not self.symbols or not self.exchanges:
            raise ValueError("the simulated market needs at least one symbol and one exchange")
        self.config = config or SimulationConfig()
        self._rng = random.Random(seed)
        assets = sorted({asset for symbol in self.symbols for asset in symbol.split("-")})
        self._assets = {asset: asset_profile(asset, seed) for asset in assets}
        self._fair = {asset: profile.price_usdt for asset, profile in self._assets.items()}
        self.transfers = transfers
        # A ticker collision is another coin: its own price, a few percent off, on its own walk.
        self._collision = transfers.collision if transfers is not None else None
        self._collider: float | None = None
        if self._collision is not None and self._collision[1] in self._fair:
            self._collider = self._fair[self._collision[1]] * (1 + self.config.collision_premium_pct / 100)
        self._featured_at: dict[int, int] = {}
        self._offsets: dict[tuple[str, str], float] = {}
        self._seq: dict[tuple[str, str], int] = {}
        self._last_event: dict[tuple[str, str], int] = {}
        self._last_ms: int | None = None
        self._plants: list[PlantedEdge] = []
        avoid = {transfers.collision} if transfers is not None and transfers.collision is not None else set()
        self._picker = PlantPicker(self.symbols, self.exchanges, self.config, self._rng, avoid=avoid)
        cap = self.config.venue_noise_cap_bps / 1e4
        for exchange in self.exchanges:
            for symbol in self.symbols:
                noise = self._rng.gauss(0, self.config.venue_noise_bps / 1e4)
                self._offsets[(exchange, symbol)] = min(cap, max(-cap, noise))

    @property
    def active_plants(self) -> tuple[PlantedEdge, ...]:
        return tuple(self._plants)

    def fair_price(self, symbol: str, exchange: str | None = None) -> float:
        """The fair price of `symbol`; on `exchange`, of the coins it lists under those tickers."""
        base, quote = symbol.split("-")
        return self._fair_on(exchange, base) / self._fair_on(exchange, quote)

    def _fair_on(self, exchange: str | None, asset: str) -> float:
        if self._collider is not None and self._collision == (exchange, asset):
            return self._collider
        return self._fair[asset]

    def tick(self, now_ms: int) -> list[OrderBookSnapshot]:
        """Advance the market to `now_ms` and return every book, in (exchange, symbol) order."""
        first = self._last_ms is None
        dt = 0.0 if self._last_ms is None else min(max(now_ms - self._last_ms, 0) / 1000, 60.0)
        self._last_ms = now_ms
        if dt > 0:
            self._walk(dt)
        self._expire_plants(now_ms)
        self._plant_featured(now_ms)  # before any random plant can take their venues
        if first and self.config.plant_on_start:
            self.plant_spatial(now_ms)
        if dt > 0:
            self._maybe_plant(now_ms, dt)
        books = {(ex, sym): self._book(ex, sym, now_ms) for ex in self.exchanges for sym in self.symbols}
        for plant in list(self._plants):
            if not self._apply(plant, books):
                logger.info("simulated edge dropped: books too thin", extra={"symbol": plant.symbol})
                self._plants.remove(plant)
        return list(books.values())

    def plant_spatial(
        self,
        now_ms: int,
        symbol: str | None = None,
        exchange: str | None = None,
        side: str | None = None,
        partner: str | None = None,
        net_edge_pct: float | None = None,
        lifetime_sec: float | None = None,
    ) -> PlantedEdge | None:
        """Dislocate one venue's book from the next tick on (see PlantedEdge); what is not
        given is drawn at random. None when every plantable symbol is taken."""
        plant = self._picker.spatial(now_ms, self._plants, symbol, exchange, side, partner, net_edge_pct, lifetime_sec)
        return self._start(plant)

    def plant_triangular(
        self,
        now_ms: int,
        exchange: str | None = None,
        path: tuple[str, ...] | None = None,
        net_edge_pct: float | None = None,
        lifetime_sec: float | None = None,
    ) -> PlantedEdge | None:
        """Plant a triangular edge (3 legs through USDT); None when no triangle is free."""
        plant = self._picker.triangular(now_ms, self._plants, exchange, path, net_edge_pct, lifetime_sec)
        return self._start(plant)

    def _start(self, plant: PlantedEdge | None) -> PlantedEdge | None:
        if plant is not None:
            self._plants.append(plant)
            logger.info(
                "simulated edge planted",
                extra={
                    "kind": plant.kind,
                    "exchange": plant.exchange,
                    "symbol": plant.symbol,
                    "buy": plant.buy_exchange or ("best" if plant.kind == "spatial" else "-"),
                    "sell": plant.sell_exchange or ("best" if plant.kind == "spatial" else "-"),
                    "path": "->".join(plant.path) or "-",
                    "net_edge_pct": round(plant.net_edge_pct, 3),
                    "lifetime_sec": round((plant.expires_ms - plant.started_ms) / 1000, 1),
                },
            )
        return plant

    def _expire_plants(self, now_ms: int) -> None:
        for plant in [p for p in self._plants if now_ms >= p.expires_ms]:
            self._plants.remove(plant)
            logger.info(
                "simulated edge ended", extra={"kind": plant.kind, "exchange": plant.exchange, "symbol": plant.symbol}
            )

    def _plant_featured(self, now_ms: int) -> None:
        """The configured showcase plants: on the first tick, then again `featured_every_sec`
        after each one started, whenever its symbol and venue are free."""
        every_ms = self.config.featured_every_sec * 1000
        for i, spec in enumerate(self.config.featured_plants):
            last = self._featured_at.get(i)
            if last is not None and now_ms - last < every_ms:
                continue
            try:
                plant = self.plant_spatial(now_ms, spec.symbol, spec.exchange, spec.side, spec.partner or None)
            except ValueError as exc:  # a symbol or venue this market does not simulate
                logger.warning("featured plant skipped", extra={"symbol": spec.symbol, "error": str(exc)})
                self._featured_at[i] = now_ms + 10**12  # never again
                continue
            if plant is not None:
                self._featured_at[i] = now_ms

    def _maybe_plant(self, now_ms: int, dt: float) -> None:
        cfg = self.config
        # Both draws happen on every tick so the RNG stream does not depend on the outcome.
        spatial = self._rng.random() < -math.expm1(-cfg.spatial_plants_per_minute * dt / 60)
        triangular = self._rng.random() < -math.expm1(-cfg.triangular_plants_per_minute * dt / 60)
        if spatial and len(self._plants) < cfg.max_active_plants:
            self.plant_spatial(now_ms)
        if triangular and len(self._plants) < cfg.max_active_plants:
            self.plant_triangular(now_ms)

    def _walk(self, dt: float) -> None:
        rng, rho = self._rng, self.config.market_correlation
        common = rng.gauss(0, 1)
        for asset, profile in self._assets.items():
            if profile.annual_vol <= 0:
                continue
            z = rho * common + math.sqrt(1 - rho * rho) * rng.gauss(0, 1)
            sigma = profile.annual_vol * math.sqrt(dt / SECONDS_PER_YEAR)
            self._fair[asset] *= math.exp(sigma * z - sigma * sigma / 2)
            if self._collider is not None and self._collision is not None and self._collision[1] == asset:
                self._collider *= math.exp(sigma * rng.gauss(0, 1) - sigma * sigma / 2)
        # Ornstein-Uhlenbeck deviations: the same stationary spread whatever the tick size.
        cfg = self.config
        keep = 0.5 ** (dt / cfg.venue_noise_half_life_sec)
        shock = cfg.venue_noise_bps / 1e4 * math.sqrt(1 - keep * keep)
        cap = cfg.venue_noise_cap_bps / 1e4
        for key, offset in self._offsets.items():
            self._offsets[key] = min(cap, max(-cap, keep * offset + rng.gauss(0, shock)))

    def _book(self, exchange: str, symbol: str, now_ms: int) -> OrderBookSnapshot:
        rng, cfg = self._rng, self.config
        profile = exchange_profile(exchange)
        base, quote = symbol.split("-")
        liquidity = min(self._assets[base].liquidity, self._assets[quote].liquidity)
        quote_usdt = self._fair_on(exchange, quote)
        if quote not in STABLECOINS:
            liquidity *= CROSS_LIQUIDITY
        # Thinner markets quote wider: spread and level gaps grow as 1/sqrt(liquidity).
        widen = min(6.0, 1 / math.sqrt(liquidity))
        half_spread = profile.spread_bps * widen / 2 * rng.uniform(0.8, 1.25)
        step = profile.step_bps * widen
        mid = self.fair_price(symbol, exchange) * (1 + self._offsets[(exchange, symbol)])
        level_usdt = cfg.level_notional_usdt * profile.depth * liquidity
        bids = self._ladder(mid, half_spread, step, level_usdt, quote_usdt, -1)
        asks = self._ladder(mid, half_spread, step, level_usdt, quote_usdt, +1)
        key = (exchange, symbol)
        lag = max(1, round(profile.lag_ms * rng.lognormvariate(0, 0.3)))
        ts_event = max(now_ms - lag, self._last_event.get(key, 0))
        self._last_event[key] = ts_event
        self._seq[key] = seq = self._seq.get(key, 0) + 1
        return OrderBookSnapshot(
            exchange=exchange,
            symbol=symbol,
            bids=bids,
            asks=asks,
            ts_event=ts_event,
            ts_ingest=now_ms,
            is_healthy=True,
            meta={"seq_id": seq, "checksum_ok": True, "lag_ms": now_ms - ts_event, "source": "simulated"},
        )

    def _ladder(
        self, mid: float, half_spread_bps: float, step_bps: float, level_usdt: float, quote_usdt: float, sign: int
    ) -> list[Level]:
        rng = self._rng
        levels: list[Level] = []
        distance = half_spread_bps
        for i in range(self.config.levels):
            price = round_price(mid * (1 + sign * distance / 1e4))
            if levels and (price - levels[-1][0]) * sign <= 0:
                price = round_price(levels[-1][0] * (1 + sign * 1e-6))
            notional = level_usdt * (1 + 0.25 * i) * rng.lognormvariate(0, 0.4)
            levels.append([price, float(f"{notional / (price * quote_usdt):.6g}")])
            distance += step_bps * rng.uniform(0.5, 1.5)
        return levels

    def _apply(self, plant: PlantedEdge, books: dict[tuple[str, str], OrderBookSnapshot]) -> bool:
        key = (plant.exchange, plant.symbol)
        if plant.kind == "spatial":
            factor = self._spatial_factor(plant, books)
        else:
            factor = self._triangular_factor(plant, books)
        if factor is None:
            return False
        books[key] = shift_book(books[key], factor)
        return True

    def _spatial_factor(self, plant: PlantedEdge, books: dict[tuple[str, str], OrderBookSnapshot]) -> float | None:
        cfg = self.config
        book = books[(plant.exchange, plant.symbol)]
        notional = cfg.notional_usdt / self._fair[plant.symbol.split("-")[1]]
        target = 1 + (plant.net_edge_pct + (2 * cfg.taker_fee_bps + cfg.slippage_bps) / 100) / 100
        venues = [plant.partner] if plant.partner else [e for e in self.exchanges if e != plant.exchange]
        # Another coin under the same ticker is not a partner: its gap is not this plant's.
        transfers = self.transfers
        partners = [
            books[(venue, plant.symbol)]
            for venue in venues
            if transfers is None or not transfers.is_collision(venue, plant.symbol)
        ]
        rich = plant.side == "sell"
        base = plant.symbol.split("-")[0]
        # Moving the base costs its withdrawal fee, a fixed amount: as a fraction of the notional.
        per_unit = self.fair_price(plant.symbol) / notional

        def net_of_transfer(buy: OrderBookSnapshot, sell: OrderBookSnapshot) -> float | None:
            ratio = spatial_ratio(buy, sell, notional)
            if ratio is None or transfers is None:
                return ratio
            return ratio - transfers.transfer_fee(buy.exchange, sell.exchange, base) * per_unit

        def best_ratio(factor: float) -> float | None:
            shifted = shift_book(book, factor)
            pairs = ((p, shifted) if rich else (shifted, p) for p in partners)
            ratios = [r for r in (net_of_transfer(buy, sell) for buy, sell in pairs) if r is not None]
            return max(ratios) if ratios else None

        # A rich venue gains as it is shifted up; a cheap one as it is shifted down.
        return calibrate(best_ratio, target, 1 if rich else -1)

    def _triangular_factor(self, plant: PlantedEdge, books: dict[tuple[str, str], OrderBookSnapshot]) -> float | None:
        cfg = self.config
        book = books[(plant.exchange, plant.symbol)]
        legs = cycle_legs(plant.path, self.symbols)
        if legs is None:  # the picker only plants paths with a market on every hop
            return None
        target = 1 + (plant.net_edge_pct + cfg.slippage_bps / 100) / 100
        fee = cfg.taker_fee_bps / 1e4

        def ratio(factor: float) -> float | None:
            shifted = shift_book(book, factor)
            walk = [(shifted if s == plant.symbol else books[(plant.exchange, s)], side) for s, side in legs]
            return cycle_ratio(walk, cfg.notional_usdt, fee)

        # Buying on the shifted book gains as it gets cheaper; selling, as it gets dearer.
        return calibrate(ratio, target, -1 if dict(legs)[plant.symbol] == "buy" else 1)


def _check_symbol(symbol: str) -> None:
    if not is_symbol(symbol) or len(set(split_symbol(symbol))) == 1:
        raise ValueError(f"{brief(symbol)} is not a symbol: use {SYMBOL_HELP}")


def _check_exchange(exchange: str) -> None:
    if not is_exchange_id(exchange):
        raise ValueError(f"{brief(exchange)} is not an exchange id: use {EXCHANGE_ID_HELP}")


def _unique(values: Iterable[str], check: Callable[[str], None]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        check(value)
        seen.setdefault(value, None)
    return list(seen)
