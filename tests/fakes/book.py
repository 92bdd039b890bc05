"""The true order book a fake exchange keeps for one symbol, in exact decimals.

A fake exchange owns one `TrueBook` per symbol and is the authority on it: it changes the
book, then tells its subscribers what changed in that exchange's own wire format. Tests
compare what the connector stored against `TrueBook.top()`.

Random changes never move the best price on either side (they resize levels, and add or
remove levels behind the best one), so the book never crosses and an edge planted with
`plant()` stays in force while the market keeps moving.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

Side = dict[Decimal, Decimal]  # price -> size


@dataclass
class TrueBook:
    symbol: str  # BASE-QUOTE
    tick: Decimal
    lot: Decimal
    bids: Side = field(default_factory=dict)
    asks: Side = field(default_factory=dict)

    @classmethod
    def around(
        cls,
        symbol: str,
        mid: str,
        *,
        tick: str = "0.01",
        lot: str = "0.00001",
        levels: int = 30,
        rng: random.Random,
    ) -> TrueBook:
        book = cls(symbol, Decimal(tick), Decimal(lot))
        center = Decimal(mid).quantize(book.tick)
        for i in range(1, levels + 1):
            book.bids[center - i * book.tick * 5] = book.random_size(rng)
            book.asks[center + i * book.tick * 5] = book.random_size(rng)
        return book

    def random_size(self, rng: random.Random) -> Decimal:
        return (Decimal(rng.randint(1, 400_000)) * self.lot * 10).quantize(self.lot)

    def sorted_bids(self) -> list[tuple[Decimal, Decimal]]:
        return sorted(self.bids.items(), reverse=True)

    def sorted_asks(self) -> list[tuple[Decimal, Decimal]]:
        return sorted(self.asks.items())

    def top(self, depth: int) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        return self.sorted_bids()[:depth], self.sorted_asks()[:depth]

    def top_floats(self, depth: int) -> tuple[list[list[float]], list[list[float]]]:
        bids, asks = self.top(depth)
        return [[float(p), float(q)] for p, q in bids], [[float(p), float(q)] for p, q in asks]

    def random_changes(
        self, rng: random.Random, count: int, near_top: int = 8, keep_top: int = 0
    ) -> list[tuple[str, Decimal, Decimal]]:
        """Apply `count` random changes; return them as (side, price, new size) with size 0
        meaning the level was removed. Most changes land within the top `near_top` levels
        (after the `keep_top` left alone), which the checksums of okx (25 levels) and
        kraken (10) cover."""
        changes: list[tuple[str, Decimal, Decimal]] = []
        for _ in range(count):
            side_name = rng.choice(("bids", "asks"))
            side = self.bids if side_name == "bids" else self.asks
            levels = (self.sorted_bids() if side_name == "bids" else self.sorted_asks())[keep_top:]
            roll = rng.random()
            if roll < 0.6 or len(levels) < 4:
                price = levels[rng.randrange(min(near_top, len(levels)))][0]
                size = self.random_size(rng)
            elif roll < 0.8:
                price = levels[rng.randrange(1, min(near_top, len(levels)))][0]  # never the best
                size = Decimal(0)
            else:
                # a new level between two existing ones behind the best, on the tick grid
                i = rng.randrange(1, min(near_top, len(levels) - 1))
                high, low = sorted((levels[i][0], levels[i + 1][0]), reverse=True)
                steps = int((high - low) / self.tick)
                if steps < 2:
                    continue
                price = low + self.tick * rng.randrange(1, steps)
                size = self.random_size(rng)
            if size:
                side[price] = size
            else:
                side.pop(price, None)
            changes.append((side_name, price, size))
        return changes

    def plant(self, *, best_bid: str | None = None, best_ask: str | None = None, size: str = "5") -> None:
        """Put a new best level on a side (removing what it would cross): an arbitrage edge
        against another exchange's book."""
        if best_bid is not None:
            price = Decimal(best_bid)
            for ask in [p for p in self.asks if p <= price]:
                del self.asks[ask]
            self.bids[price] = Decimal(size)
        if best_ask is not None:
            price = Decimal(best_ask)
            for bid in [p for p in self.bids if p >= price]:
                del self.bids[bid]
            self.asks[price] = Decimal(size)


def plain(value: Decimal) -> str:
    """A decimal as exchanges print it without padding: 60000.1, 0.05, 415."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def fixed(value: Decimal, places: int) -> str:
    """A decimal padded to `places` decimals, as binance prints prices and sizes."""
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")
