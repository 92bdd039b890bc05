"""Chooses what to plant: which symbol, venues or triangle, how big and for how long.

Two plants never share a symbol or a dislocated venue, so each one's calibration stays
exact and no two add up to more than either promised. Explicit choices
(tests, a demo button) are validated; whatever is left open is drawn from the seeded RNG.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from exchanges.connectors.simulated.market_config import SimulationConfig
from exchanges.connectors.simulated.plants import PlantedEdge, cycle_legs

USDT = "USDT"


class PlantPicker:
    def __init__(
        self,
        symbols: Sequence[str],
        exchanges: Sequence[str],
        config: SimulationConfig,
        rng: random.Random,
        avoid: set[tuple[str, str]] | None = None,
    ) -> None:
        self._symbols = set(symbols)
        self._exchanges = list(exchanges)
        self._config = config
        self._rng = rng
        # (exchange, asset) pairs never dislocated at random: a ticker collision's other coin.
        self._avoid = avoid or set()
        # A scanner sizes a non-USDT symbol through its QUOTE-USDT book: without one, an
        # edge there would be invisible.
        self._spatial_symbols = [s for s in symbols if _quote(s) == USDT or f"{_quote(s)}-{USDT}" in self._symbols]
        self._triangles: list[tuple[str, ...]] = []
        for symbol in symbols:
            base, quote = symbol.split("-")
            if USDT not in (base, quote) and {f"{base}-{USDT}", f"{quote}-{USDT}"} <= self._symbols:
                self._triangles.append((USDT, quote, base, USDT))  # buys the cross
                self._triangles.append((USDT, base, quote, USDT))  # sells the cross

    def spatial(
        self,
        now_ms: int,
        active: Sequence[PlantedEdge],
        symbol: str | None = None,
        exchange: str | None = None,
        side: str | None = None,
        partner: str | None = None,
        net_edge_pct: float | None = None,
        lifetime_sec: float | None = None,
    ) -> PlantedEdge | None:
        rng = self._rng
        for venue in (exchange, partner):
            if venue is not None and venue not in self._exchanges:
                raise ValueError(f"unknown exchange {venue!r}")
        if exchange is not None and exchange == partner:
            raise ValueError("the partner must be another exchange")
        if side not in (None, "buy", "sell"):
            raise ValueError("side must be 'buy' (the venue is cheap) or 'sell' (it is rich)")
        if symbol is not None and symbol not in self._spatial_symbols:
            raise ValueError(f"cannot plant a spatial edge on {symbol!r}: not simulated, or no QUOTE-USDT book")
        if len(self._exchanges) < 2:
            return None
        busy = _busy(active)
        free = [s for s in self._spatial_symbols if s not in busy]
        if symbol is None and free:
            symbol = rng.choice(free)
        venue = self._free_venue(exchange, active, exclude=partner)
        if symbol is None or symbol in busy or venue is None or self._avoided(venue, symbol):
            return None
        return PlantedEdge(
            kind="spatial",
            exchange=venue,
            symbol=symbol,
            net_edge_pct=net_edge_pct if net_edge_pct is not None else rng.uniform(*self._config.spatial_edge_pct),
            started_ms=now_ms,
            expires_ms=now_ms + self._lifetime_ms(lifetime_sec),
            side="buy" if (side or rng.choice(("buy", "sell"))) == "buy" else "sell",
            partner=partner or "",
        )

    def triangular(
        self,
        now_ms: int,
        active: Sequence[PlantedEdge],
        exchange: str | None = None,
        path: tuple[str, ...] | None = None,
        net_edge_pct: float | None = None,
        lifetime_sec: float | None = None,
    ) -> PlantedEdge | None:
        rng = self._rng
        if exchange is not None and exchange not in self._exchanges:
            raise ValueError(f"unknown exchange {exchange!r}")
        if path is not None and tuple(path) not in self._triangles:
            raise ValueError(f"cannot plant on {path!r}: use USDT, A, B, USDT over simulated markets")
        busy = _busy(active)
        free = [p for p in self._triangles if not _cycle_symbols(p, self._symbols) & busy]
        if path is None and free:
            path = rng.choice(free)
        venue = self._free_venue(exchange, active)
        if path is None or path not in free or venue is None or any(self._avoided(venue, s) for s in path):
            return None
        return PlantedEdge(
            kind="triangular",
            exchange=venue,
            # The one leg that does not touch USDT: shifting it leaves the legs' USDT
            # prices, which every other venue shares, alone.
            symbol=next(s for s in _cycle_symbols(path, self._symbols) if USDT not in s.split("-")),
            net_edge_pct=net_edge_pct if net_edge_pct is not None else rng.uniform(*self._config.triangular_edge_pct),
            started_ms=now_ms,
            expires_ms=now_ms + self._lifetime_ms(lifetime_sec),
            path=tuple(path),
        )

    def _avoided(self, venue: str, symbol_or_asset: str) -> bool:
        return any((venue, asset) in self._avoid for asset in symbol_or_asset.split("-"))

    def _free_venue(
        self, exchange: str | None, active: Sequence[PlantedEdge], exclude: str | None = None
    ) -> str | None:
        # Two dislocated books on one venue would compound into a triangle far beyond
        # either plant's promise (ETH-USDT rich and LINK-USDT cheap: LINK->ETH pays both).
        taken = {plant.exchange for plant in active}
        if exchange is not None:
            return None if exchange in taken else exchange
        free = [e for e in self._exchanges if e not in taken and e != exclude]
        return self._rng.choice(free) if free else None

    def _lifetime_ms(self, lifetime_sec: float | None) -> int:
        seconds = lifetime_sec if lifetime_sec is not None else self._rng.uniform(*self._config.plant_lifetime_sec)
        if seconds <= 0:
            raise ValueError("lifetime_sec must be > 0")
        return round(seconds * 1000)


def _quote(symbol: str) -> str:
    return symbol.split("-")[1]


def _cycle_symbols(path: Sequence[str], symbols: set[str]) -> set[str]:
    legs = cycle_legs(path, symbols)
    return {symbol for symbol, _ in legs} if legs else set()


def _busy(active: Sequence[PlantedEdge]) -> set[str]:
    busy: set[str] = set()
    for plant in active:
        busy.add(plant.symbol)
        if plant.path:
            # Every market of the triangle, in both spellings (only one of each exists).
            busy.update(f"{dst}-{src}" for src, dst in zip(plant.path, plant.path[1:], strict=False))
            busy.update(f"{src}-{dst}" for src, dst in zip(plant.path, plant.path[1:], strict=False))
    return busy
