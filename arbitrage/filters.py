"""The filter language over opportunities: one set of words with one meaning, for every
place a user narrows what they see (the WebSocket `subscribe` command, the REST current
opportunities and episodes, Telegram's `/filter`).

- `symbol`: assets (`BTC`: anything that trades it, triangular cycles included) or symbols
  (`BTC-USDT`, also `btc/usdt`: that symbol only); several, comma-separated: any of them;
- `exchange`: exchange ids; an opportunity that buys, sells or cycles on any of them;
- `type`: `spatial` or `triangular`;
- `min_net_edge`: net edge in percent, at least this;
- `risk`: `ok`, `flagged` (anything but ok), `actionable` (nothing that stops the trade:
  only `high_lag` or `thin_book` if anything) or one risk code (the opportunity's
  `risk_flag`).

Values come from outside (a client's frame, a query string, a chat message): `parse`
checks them once and names every bad one at once; `as_dict` says what was understood, in
a form `parse` reads back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from arbitrage.engine import types as engine_types
from kernel.ids import (
    EXCHANGE_ID_HELP,
    is_asset,
    is_exchange_id,
    is_symbol,
    normalize_exchange_id,
    normalize_symbol,
    split_symbol,
)
from kernel.text import brief

TYPES = ("spatial", "triangular")
RISK_CODES = tuple(
    sorted(value for name, value in vars(engine_types).items() if name.startswith("RISK_") and isinstance(value, str))
)
RISK_CHOICES = ("flagged", "actionable", *RISK_CODES)
# An opportunity a trader can take as shown: no transfer flag and no too-good-to-be-true
# edge. Flags are ordered most serious first, so its risk_flag alone tells.
ACTIONABLE = (engine_types.RISK_OK, engine_types.RISK_HIGH_LAG, engine_types.RISK_THIN_BOOK)
FILTER_NAMES = ("symbol", "exchange", "type", "min_net_edge", "risk")
# What each word means, in a line (API docs, the bot's help).
HELP = {
    "symbol": "assets (BTC) or symbols (BTC-USDT), comma-separated: trades any of them",
    "exchange": "exchange ids, comma-separated: buys, sells or cycles on any of them",
    "type": "spatial or triangular",
    "min_net_edge": "net edge in percent, at least this",
    "risk": "ok, flagged (anything but ok), actionable (no transfer or extreme-edge flag) or one risk code",
}


class FilterError(ValueError):
    """Invalid filters; `errors` maps each bad filter to a message a user can act on."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


def _words(value: Any) -> list[str]:
    """A comma-separated string (or a list of strings) as its non-blank words."""
    if value is None:
        return []
    if isinstance(value, str):
        return [word.strip() for word in value.split(",") if word.strip()]
    if isinstance(value, list) and all(isinstance(word, str) for word in value):
        return [word.strip() for word in value if word.strip()]
    raise ValueError("must be a string (several: comma-separated)")


def _names(value: Any, normalize: Callable[[str], str], valid: Callable[[str], bool], why: str) -> tuple[str, ...]:
    names = [normalize(word) for word in _words(value)]
    bad = [word for word in names if not valid(word)]
    if bad:
        raise ValueError(f"{brief(bad[0])} {why}")
    return tuple(dict.fromkeys(names))


def parse_symbols(value: Any) -> tuple[str, ...]:
    return _names(
        value,
        normalize_symbol,
        lambda s: is_asset(s) or is_symbol(s),
        "is neither an asset (BTC) nor a symbol (BTC-USDT)",
    )


def parse_exchanges(value: Any) -> tuple[str, ...]:
    return _names(value, normalize_exchange_id, is_exchange_id, f"is not an exchange id ({EXCHANGE_ID_HELP})")


def _choice(value: Any, choices: tuple[str, ...], what: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or value.strip().lower() not in choices:
        raise ValueError(f"{brief(value)} is not {what}: use one of {', '.join(choices)}")
    return value.strip().lower()


def parse_type(value: Any) -> str | None:
    return _choice(value, TYPES, "a type")


def parse_risk(value: Any) -> str | None:
    return _choice(value, RISK_CHOICES, "a risk filter")


def parse_min_net_edge(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("must be a number (percent)")
    try:
        number = float(value.strip().rstrip("%") if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        raise ValueError(f"{brief(value)} is not a number (percent)") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number (percent)")
    return number


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "symbol": parse_symbols,
    "exchange": parse_exchanges,
    "type": parse_type,
    "min_net_edge": parse_min_net_edge,
    "risk": parse_risk,
}


def trades(symbols: Iterable[str], symbol: Any, path: Any) -> bool:
    """Whether an opportunity on `symbol` (or the cycle `path`) trades one of `symbols`:
    that symbol exactly, or an asset of its symbol or cycle."""
    assets: set[Any] = set(split_symbol(symbol)) if isinstance(symbol, str) else set()
    if isinstance(path, list):
        assets.update(asset for asset in path if isinstance(asset, str))
    return any((symbol == wanted) if "-" in wanted else (wanted in assets) for wanted in symbols)


def risk_admits(wanted: str, risk_flag: Any) -> bool:
    """Whether an opportunity whose most serious flag is `risk_flag` passes `risk=wanted`."""
    if wanted == "flagged":
        return isinstance(risk_flag, str) and risk_flag != engine_types.RISK_OK
    if wanted == "actionable":
        return risk_flag in ACTIONABLE
    return bool(risk_flag == wanted)


@dataclass(frozen=True, slots=True)
class OpportunityFilter:
    symbol: tuple[str, ...] = ()
    exchange: tuple[str, ...] = ()
    type: str | None = None
    min_net_edge: float | None = None
    risk: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> OpportunityFilter:
        """Filters from a mapping of words to values; unknown words and bad values raise
        FilterError naming every problem at once."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise FilterError({"filters": 'must be an object such as {"symbol": "BTC"}'})
        given = dict(raw)
        errors: dict[str, str] = {}
        for name in sorted(set(given) - set(FILTER_NAMES), key=str):
            errors[str(name)[:40]] = f"unknown filter; use {', '.join(FILTER_NAMES)}"
        values: dict[str, Any] = {}
        for name, parse in _PARSERS.items():
            try:
                values[name] = parse(given.get(name))
            except ValueError as exc:
                errors[name] = str(exc)
        if errors:
            raise FilterError(errors)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """The active filters only, as `parse` reads them back (lists comma-separated)."""
        shown: dict[str, Any] = {}
        for name in FILTER_NAMES:
            value = getattr(self, name)
            if isinstance(value, tuple):
                value = ",".join(value) or None
            if value is not None:
                shown[name] = value
        return shown

    @property
    def active(self) -> bool:
        return bool(self.as_dict())

    def admits(
        self,
        *,
        type: Any,
        symbol: Any,
        path: Any,
        exchanges: Iterable[Any],
        net_edge_pct: Any,
        risk_flag: Any,
    ) -> bool:
        """Whether an opportunity with these fields passes (any may be junk: a feed item is
        outside data; junk never passes a filter that looks at it)."""
        if self.type is not None and type != self.type:
            return False
        if self.exchange and not any(exchange in self.exchange for exchange in exchanges):
            return False
        if self.min_net_edge is not None and not (
            isinstance(net_edge_pct, (int, float)) and not isinstance(net_edge_pct, bool)
            and net_edge_pct >= self.min_net_edge
        ):  # fmt: skip
            return False
        if self.risk is not None and not risk_admits(self.risk, risk_flag):
            return False
        return not self.symbol or trades(self.symbol, symbol, path)

    def matches(self, item: Mapping[str, Any]) -> bool:
        """Whether an item of a scan message passes."""
        return self.admits(
            type=item.get("type"),
            symbol=item.get("symbol"),
            path=item.get("path"),
            exchanges=(item.get("buy_exchange"), item.get("sell_exchange"), item.get("exchange")),
            net_edge_pct=item.get("net_edge_pct"),
            risk_flag=item.get("risk_flag"),
        )

    def apply(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.active:
            return items
        return [item for item in items if self.matches(item)]
