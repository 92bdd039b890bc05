"""Symbol names across the boundary: our `BASE-QUOTE`, ccxt's unified `BASE/QUOTE`, and the
exchange's own market id (`BTCUSDT` on binance, `BTC-USDT` on okx, `XXBTZUSD` on kraken).

ccxt's market table is the authority on what an exchange lists and under which id (it
already maps kraken's XBT to BTC and the like), so a watched symbol is looked up there
once, when the markets are loaded, and everything after that uses the resolved
`MarketRef`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class MarketRef:
    symbol: str  # BASE-QUOTE, what the store and the engine use
    unified: str  # BASE/QUOTE, what ccxt is asked for
    exchange_id: str  # the exchange's own market id, kept in each book's meta


def to_unified(symbol: str) -> str:
    """BTC-USDT -> BTC/USDT."""
    base, quote = symbol.split("-")
    return f"{base}/{quote}"


def from_unified(unified: str) -> str:
    """BTC/USDT -> BTC-USDT. Derivative symbols (BTC/USDT:USDT) are not ours."""
    if ":" in unified or unified.count("/") != 1:
        raise ValueError(f"not a spot symbol: {unified!r}")
    base, quote = unified.split("/")
    return f"{base}-{quote}"


def resolve_markets(markets: Mapping[str, Any], symbols: Iterable[str]) -> tuple[list[MarketRef], list[str]]:
    """The watched symbols this exchange lists as active spot markets, and the rest."""
    found: list[MarketRef] = []
    missing: list[str] = []
    for symbol in symbols:
        market = markets.get(to_unified(symbol))
        if not market or not market.get("spot", True) or market.get("active") is False:
            missing.append(symbol)
            continue
        found.append(MarketRef(symbol, str(market["symbol"]), str(market["id"])))
    return found, missing


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` of `count` (`--shard 0/4`): a stable share of the symbols, the same in
    every process, so n ingest processes on n hosts split the watchlist without talking."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard must be i/n with 0 <= i < n, got {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, sep, count = text.partition("/")
        try:
            if not sep:
                raise ValueError
            return cls(int(index), int(count))
        except ValueError:
            raise ValueError(f"expected i/n with 0 <= i < n (e.g. 0/4), got {text!r}") from None

    def owns(self, symbol: str) -> bool:
        # crc32, not hash(): Python salts str hashes per process.
        return zlib.crc32(symbol.encode()) % self.count == self.index

    def select(self, symbols: Iterable[str]) -> list[str]:
        return [s for s in symbols if self.owns(s)]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


class SymbolSource(Protocol):
    """The BASE-QUOTE symbols an exchange should watch now; asked again every `reload_every`
    seconds (None: never) so admin changes apply without a restart."""

    @property
    def reload_every(self) -> float | None: ...

    async def symbols(self, exchange: str) -> list[str]: ...


class StaticSymbols:
    """A fixed list (`--symbols`)."""

    reload_every: float | None = None

    def __init__(self, symbols: Sequence[str]) -> None:
        self._symbols = list(symbols)

    async def symbols(self, exchange: str) -> list[str]:
        return list(self._symbols)
