"""The canonical order book (DESIGN.md section 3) and its parser.

Outside data (Redis values, JSONL lines, connector output) is validated here once; the
rest of the engine trusts an `OrderBookSnapshot`. Levels are kept as lists of
`[price, qty]` floats, which is what orjson yields for float-encoded books, so the hot
path (decode of thousands of books per scan) does not copy them.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any

import orjson

Level = list[float]  # [price, qty]

_FIELDS = ("exchange", "symbol", "bids", "asks", "ts_event", "ts_ingest", "is_healthy", "meta")


class BookError(ValueError):
    """A book record that cannot be accepted; the message names the field at fault."""


@dataclass(slots=True)
class OrderBookSnapshot:
    exchange: str
    symbol: str
    bids: list[Level]
    asks: list[Level]
    ts_event: int
    ts_ingest: int
    is_healthy: bool = True
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.symbol.split("-", 1)[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("-", 1)[1]

    @property
    def key(self) -> tuple[str, str]:
        return (self.exchange, self.symbol)

    @property
    def lag_ms(self) -> int:
        return self.ts_ingest - self.ts_event

    def to_dict(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "symbol": self.symbol,
            "bids": self.bids,
            "asks": self.asks,
            "ts_event": self.ts_event,
            "ts_ingest": self.ts_ingest,
            "is_healthy": self.is_healthy,
            "meta": self.meta,
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())


def _number(value: Any, where: str) -> float:
    # bool is an int subclass; True as a price is a bug upstream, not a price of 1.
    if isinstance(value, bool):
        raise BookError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, float):
        number = value
    elif isinstance(value, (int, str)):
        try:
            number = float(value)
        except ValueError:
            raise BookError(f"{where}: not a number: {value!r}") from None
    else:
        raise BookError(f"{where}: expected a number or decimal string, got {type(value).__name__}")
    if not math.isfinite(number) or number <= 0:
        raise BookError(f"{where}: must be a positive finite number, got {value!r}")
    return number


def _fast_levels(raw: list[Any], descending: bool) -> list[Level] | None:
    """The hot path for books from our own store: float pairs, already sorted.

    Built from C-level builtins (zip, sum, map) because a scan decodes thousands of books;
    returns None whenever anything is off, and the careful path below says what.
    """
    try:
        prices, qtys = zip(*raw, strict=True) if raw else ((), ())
    except (TypeError, ValueError):
        return None
    if not all(type(v) is float for v in prices[:1] + qtys[:1]):
        return None
    try:
        total = sum(prices) + sum(qtys)
    except TypeError:
        return None
    if not math.isfinite(total) or (prices and (min(prices) <= 0 or min(qtys) <= 0)):
        return None
    ordered = map(operator.gt if descending else operator.lt, prices, prices[1:])
    if not all(ordered):
        return None
    if not all(type(level) is list for level in raw):
        return [list(level) for level in raw]
    return raw


def _levels(raw: Any, side: str) -> list[Level]:
    if not isinstance(raw, list):
        raise BookError(f"{side}: expected a list of [price, qty] levels")
    descending = side == "bids"
    fast = _fast_levels(raw, descending)
    if fast is not None:
        return fast
    levels: list[Level] = []
    previous = -1.0
    for i, level in enumerate(raw):
        if not isinstance(level, (list, tuple)) or len(level) != 2:
            raise BookError(f"{side}[{i}]: expected [price, qty], got {level!r}")
        price = _number(level[0], f"{side}[{i}] price")
        qty = _number(level[1], f"{side}[{i}] qty")
        if i and (price >= previous if descending else price <= previous):
            order = "descending" if descending else "ascending"
            raise BookError(f"{side}[{i}]: prices must be strictly {order} (got {price} after {previous})")
        previous = price
        levels.append([price, qty])
    return levels


def _int_ms(raw: Any, name: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) or raw < 0:
        raise BookError(f"{name}: expected a non-negative timestamp in ms, got {raw!r}")
    return int(raw)


def parse_book(raw: Any) -> OrderBookSnapshot:
    """Validate one decoded book record; raise BookError naming the first bad field."""
    if not isinstance(raw, dict):
        raise BookError(f"book: expected a JSON object, got {type(raw).__name__}")
    missing = [name for name in _FIELDS[:6] if name not in raw]
    if missing:
        raise BookError(f"book: missing field(s) {', '.join(missing)}")
    exchange = raw["exchange"]
    if not isinstance(exchange, str) or not exchange or exchange != exchange.lower() or not exchange.isascii():
        raise BookError(f"exchange: expected a lower-case exchange id, got {exchange!r}")
    symbol = raw["symbol"]
    if not isinstance(symbol, str) or symbol.count("-") != 1 or not all(symbol.split("-")):
        raise BookError(f"symbol: expected BASE-QUOTE, got {symbol!r}")
    if symbol != symbol.upper():
        raise BookError(f"symbol: expected upper case BASE-QUOTE, got {symbol!r}")
    bids = _levels(raw["bids"], "bids")
    asks = _levels(raw["asks"], "asks")
    if bids and asks and bids[0][0] >= asks[0][0]:
        raise BookError(f"book: crossed (best bid {bids[0][0]} >= best ask {asks[0][0]})")
    is_healthy = raw.get("is_healthy", True)
    if not isinstance(is_healthy, bool):
        raise BookError(f"is_healthy: expected true or false, got {is_healthy!r}")
    meta = raw.get("meta", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise BookError(f"meta: expected an object, got {type(meta).__name__}")
    return OrderBookSnapshot(
        exchange=exchange,
        symbol=symbol,
        bids=bids,
        asks=asks,
        ts_event=_int_ms(raw["ts_event"], "ts_event"),
        ts_ingest=_int_ms(raw["ts_ingest"], "ts_ingest"),
        is_healthy=is_healthy,
        meta=meta,
    )


def parse_book_json(data: bytes | str) -> OrderBookSnapshot:
    """Decode and validate one JSON book (a Redis value, a JSONL line)."""
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BookError(f"book: invalid JSON ({exc})") from None
    return parse_book(raw)
