"""Filters over the items of a scan message, shared by the REST "current opportunities"
endpoint and the WebSocket `subscribe` command, so both mean the same thing by each filter.

- `symbol`: an asset (`BTC`: every item that trades it, triangular cycles included) or a
  symbol (`BTC-USDT`, also `btc/usdt`: that symbol only);
- `exchange`: an item that buys, sells or cycles on that exchange;
- `type`: `spatial` or `triangular`;
- `min_net_edge`: net edge in percent, at least this;
- `risk`: `ok`, `flagged` (anything but ok) or one risk code (the item's `risk_flag`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from arbitrage.engine import types as engine_types

_ASSET = r"[A-Z0-9]{1,15}"
SYMBOL_RE = re.compile(rf"^{_ASSET}(-{_ASSET})?$")
EXCHANGE_RE = re.compile(r"^[a-z0-9_]{2,32}$")
TYPES = ("spatial", "triangular")
RISK_CODES = tuple(
    sorted(value for name, value in vars(engine_types).items() if name.startswith("RISK_") and isinstance(value, str))
)
RISK_CHOICES = ("flagged", *RISK_CODES)
FILTER_NAMES = ("symbol", "exchange", "type", "min_net_edge", "risk")


class FilterError(ValueError):
    """Invalid filters; `errors` maps each bad filter to a message a user can act on."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.strip()
    return value or None


def parse_symbol(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    text = text.upper().replace("/", "-")
    if not SYMBOL_RE.match(text):
        raise ValueError(f"{value!r} is neither an asset (BTC) nor a symbol (BTC-USDT)")
    return text


def parse_exchange(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    text = text.lower()
    if not EXCHANGE_RE.match(text):
        raise ValueError(f"{value!r} is not an exchange id (lower-case letters, digits or _, e.g. binance)")
    return text


def parse_type(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if text.lower() not in TYPES:
        raise ValueError(f"{value!r} is not a type: use spatial or triangular")
    return text.lower()


def parse_min_net_edge(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("must be a number (percent)")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number (percent)") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number (percent)")
    return number


def parse_risk(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if text.lower() not in RISK_CHOICES:
        raise ValueError(f"{value!r} is not a risk filter: use one of {', '.join(RISK_CHOICES)}")
    return text.lower()


def _trades(item: dict[str, Any], wanted: str) -> bool:
    """Whether an item is about `wanted`: that symbol, or an asset of its symbol or cycle."""
    symbol = item.get("symbol")
    if "-" in wanted:
        return symbol == wanted
    assets: set[Any] = set(symbol.split("-")) if isinstance(symbol, str) else set()
    path = item.get("path")
    if isinstance(path, list):
        assets.update(path)
    return wanted in assets


_PARSERS = {
    "symbol": parse_symbol,
    "exchange": parse_exchange,
    "type": parse_type,
    "min_net_edge": parse_min_net_edge,
    "risk": parse_risk,
}


@dataclass(frozen=True, slots=True)
class FeedFilters:
    symbol: str | None = None
    exchange: str | None = None
    type: str | None = None
    min_net_edge: float | None = None
    risk: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> FeedFilters:
        """Filters from a client's mapping; unknown names and bad values raise FilterError
        naming every problem at once."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise FilterError({"filters": 'must be an object such as {"symbol": "BTC"}'})
        errors: dict[str, str] = {}
        for name in sorted(set(raw) - set(FILTER_NAMES), key=str):
            errors[str(name)] = f"unknown filter; use {', '.join(FILTER_NAMES)}"
        values: dict[str, Any] = {}
        for name, parse in _PARSERS.items():
            try:
                values[name] = parse(raw.get(name))
            except ValueError as exc:
                errors[name] = str(exc)
        if errors:
            raise FilterError(errors)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """The active filters only."""
        return {name: getattr(self, name) for name in FILTER_NAMES if getattr(self, name) is not None}

    @property
    def active(self) -> bool:
        return bool(self.as_dict())

    def matches(self, item: dict[str, Any]) -> bool:
        if self.type is not None and item.get("type") != self.type:
            return False
        if self.exchange is not None and self.exchange not in (
            item.get("buy_exchange"),
            item.get("sell_exchange"),
            item.get("exchange"),
        ):
            return False
        if self.min_net_edge is not None:
            edge = item.get("net_edge_pct")
            if not isinstance(edge, (int, float)) or edge < self.min_net_edge:
                return False
        if self.risk is not None:
            flag = item.get("risk_flag")
            if (flag == "ok") if self.risk == "flagged" else (flag != self.risk):
                return False
        return self.symbol is None or _trades(item, self.symbol)

    def apply(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.active:
            return items
        return [item for item in items if self.matches(item)]
