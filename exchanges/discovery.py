"""Market discovery: which spot pairs are worth watching across the enabled exchanges.

Pure functions over what ccxt's `load_markets` returns (no Django, no network): the
`discover_markets` command loads each exchange's markets and stores the verdicts; ingest in
whole-market mode watches the kept pairs, capped per exchange.

A pair is kept when at least two enabled exchanges list it as an active spot market and
its quote is USDT or has a `QUOTE-USDT` pair of its own (the scan sizes and values a trade
in USDT through that book). Derivatives, inactive and delisted markets are never pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kernel.ids import is_symbol

USDT = "USDT"
MIN_EXCHANGES = 2


@dataclass(slots=True)
class ExchangeMarkets:
    """One exchange's spot pairs (BASE-QUOTE) and how many markets were not pairs."""

    exchange: str
    pairs: set[str] = field(default_factory=set)
    derivatives: int = 0
    inactive: int = 0
    unnamed: int = 0  # a name that is not BASE-QUOTE in our alphabet


@dataclass(frozen=True, slots=True)
class Verdict:
    symbol: str
    exchanges: tuple[str, ...]
    included: bool
    reason: str = ""


def spot_pairs(exchange: str, markets: Mapping[str, Any]) -> ExchangeMarkets:
    """The active spot pairs in ccxt's market table (`exchange.markets`)."""
    found = ExchangeMarkets(exchange)
    for market in markets.values():
        if not isinstance(market, Mapping):
            found.unnamed += 1
            continue
        derivative = any(market.get(kind) for kind in ("swap", "future", "option", "contract"))
        if derivative or market.get("spot") is False or market.get("type") not in (None, "spot"):
            found.derivatives += 1
            continue
        if market.get("active") is False:
            found.inactive += 1
            continue
        base, quote = market.get("base"), market.get("quote")
        symbol = f"{base}-{quote}" if isinstance(base, str) and isinstance(quote, str) else ""
        if not is_symbol(symbol) or base == quote:
            found.unnamed += 1
            continue
        found.pairs.add(symbol)
    return found


def judge(markets: Iterable[ExchangeMarkets]) -> list[Verdict]:
    """A verdict for every pair listed anywhere, kept ones first, then by symbol."""
    listed: dict[str, list[str]] = {}
    for found in markets:
        for symbol in found.pairs:
            listed.setdefault(symbol, []).append(found.exchange)
    verdicts = []
    for symbol, exchanges in listed.items():
        quote = symbol.split("-")[1]
        names = tuple(sorted(exchanges))
        if len(names) < MIN_EXCHANGES:
            verdicts.append(Verdict(symbol, names, False, f"listed on one exchange only ({names[0]})"))
        elif quote != USDT and f"{quote}-{USDT}" not in listed:
            verdicts.append(Verdict(symbol, names, False, f"no {quote}-{USDT} pair to price {quote} in USDT"))
        else:
            verdicts.append(Verdict(symbol, names, True))
    verdicts.sort(key=lambda v: (not v.included, v.symbol))
    return verdicts


def watch_lists(verdicts: Iterable[Verdict], cap: int) -> dict[str, tuple[str, ...]]:
    """Per exchange, the kept pairs it lists, at most `cap`: the pairs listed on the most
    exchanges first (more routes), each quote's own QUOTE-USDT pair before the pairs priced
    through it, so a cut never leaves a pair that cannot be valued."""
    kept = [v for v in verdicts if v.included]
    pricing = {f"{v.symbol.split('-')[1]}-{USDT}" for v in kept if v.symbol.split("-")[1] != USDT}
    order = sorted(kept, key=lambda v: (v.symbol not in pricing, -len(v.exchanges), v.symbol))
    lists: dict[str, list[str]] = {}
    for verdict in order:
        for exchange in verdict.exchanges:
            chosen = lists.setdefault(exchange, [])
            if len(chosen) < cap:
                chosen.append(verdict.symbol)
    return {exchange: tuple(symbols) for exchange, symbols in lists.items()}
