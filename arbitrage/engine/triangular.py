"""Triangular arbitrage: profitable 3- and 4-leg cycles inside one exchange (docs/design.md,
"The engine: Triangular").

Per exchange, assets are nodes and each market BASE-QUOTE gives two edges: QUOTE->BASE at
rate (1 / ask_vwap) * (1 - fee) and BASE->QUOTE at bid_vwap * (1 - fee). A cycle of rates
whose product exceeds 1 is a candidate; weights are -log(rate), so candidates are negative
cycles.

Finding them, cheapest check first:
1. Potentials. Each weight is shifted by log(usdt_price(src)) - log(usdt_price(dst)). Every
   cycle keeps its weight (the shifts telescope), while a fairly priced edge becomes a
   small positive number (its fee and half-spread). In a fair market no edge is negative,
   which proves there is no negative cycle without a single relaxation.
2. Top of book. A leg's rate only gets worse as it trades more, so the best-level rates
   bound every VWAP rate from above. No negative cycle at the top of the books means none
   at any size: most scans stop here, having computed no VWAP at all.
3. The design's detection rates: each edge's VWAP for the target notional converted into
   its source asset at that asset's USDT mid. Bellman-Ford (it stops at the first pass
   that relaxes nothing, and as soon as its predecessor graph closes a cycle) says whether
   a negative cycle exists.
4. Only then are cycles enumerated, exactly and without an explosion in the asset count: a
   cycle of weight <= 0 has an edge of weight <= 0, so every non-positive edge is taken as
   an anchor in turn and only paths closing back to it are followed (at most
   out-degree^2 of them), pruned when even the lightest remaining edges could not bring
   the total down to 0. A cycle is found from its lowest-ranked anchor only, so once.
5. Each cycle is re-walked in order at VWAP (the first leg spends the target notional,
   each next leg what the previous one produced); it is profitable when its net edge
   clears min_net_edge_pct.
6. One opportunity per cause (docs/design.md, "One opportunity per cause"): a profitable
   cycle's cause is its leg furthest above its fair rate m(X) / m(Y), deviation
   ln(rate) - ln(fair) at the detection rate (ties: the market sorting first). Cycles are
   grouped by (exchange, the cause's market, its direction); each group reports its best
   cycle (highest net edge, then fewer legs, then the path joined by "->" sorting first)
   with `variants`, the group's count. Only that cycle gets the full evaluation (optimal
   size, evidence, flags).

The candidate floor is a rate product of 1: only negative cycles are candidates, as the
design says, whatever min_net_edge_pct is (a cycle that loses at detection is not reported
even when the threshold is below zero).

USDT mids m(A) (sizing each leg, fair rates, profits): 1 for USDT, the mid of the
exchange's own A-USDT book, else the slice's median A-USDT mid. An asset with neither takes
no part in the search.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from arbitrage.engine.cycles import Pair, has_negative_cycle, short_cycles
from arbitrage.engine.optimal import Leg, cycle_optimum, max_start_amount, walk_legs
from arbitrage.engine.risk import evidence, most_serious, risk_flags
from arbitrage.engine.types import FeeSchedule, Opportunity, ScanParams
from arbitrage.engine.vwap import spend_notional, take_qty
from kernel.book import OrderBookSnapshot

# Shaved off every weight so that a cycle exactly on the floor, whose float sum may land a
# rounding error above it, still counts as negative. It only ever adds candidates.
_EDGE_MARGIN = 1e-9
Listing = tuple[OrderBookSnapshot, str, str]  # a book with its base and quote asset


@dataclass(frozen=True, slots=True)
class Market:
    """An edge of the asset graph: spending QUOTE on the asks (is_buy) or BASE on the bids."""

    book: OrderBookSnapshot
    is_buy: bool
    pair: Pair  # (source asset, target asset)

    def leg(self, keep: float) -> Leg:
        return Leg(self.book.asks if self.is_buy else self.book.bids, self.is_buy, keep)


def find_triangular(
    by_exchange: Mapping[str, Sequence[OrderBookSnapshot]],
    usdt_fallback: Callable[[str], float | None],
    params: ScanParams,
    fees: FeeSchedule,
    now_ms: int,
) -> list[Opportunity]:
    """Every reportable cycle on every exchange of the slice.

    `usdt_fallback(asset)`: a USDT price for an asset the exchange's own markets do not
    connect to USDT (the slice's median mid), or None.
    """
    found: list[Opportunity] = []
    for exchange, books in by_exchange.items():
        found.extend(exchange_cycles(exchange, books, usdt_fallback, params, fees.taker_bps(exchange), now_ms))
    return found


def exchange_cycles(
    exchange: str,
    books: Sequence[OrderBookSnapshot],
    usdt_fallback: Callable[[str], float | None],
    params: ScanParams,
    taker_bps: float,
    now_ms: int,
) -> list[Opportunity]:
    """The reportable cycles of one exchange's usable books (steps 1-5 of the module doc)."""
    keep = 1.0 - taker_bps / 10_000.0
    if keep <= 0.0:
        return []  # a fee of 100 % or more leaves nothing to trade
    listing = _listing(books)
    prices = usdt_mids(listing, usdt_fallback)
    listed = [(book, base, quote) for book, base, quote in listing if base in prices and quote in prices]
    # Candidates are negative cycles: with no edge below zero (weights shifted by the
    # potentials) there is none, which the best ratio of value out to value in tells.
    if _best_value_ratio(listed, prices, keep) <= math.exp(-_EDGE_MARGIN):
        return []  # steps 1-2 of the module doc without a log or a dict: the usual case
    markets = _markets(listed)
    potential = {asset: math.log(price) for asset, price in prices.items()}

    def weight(src: str, dst: str, rate: float) -> float:
        return -math.log(rate) + potential.get(src, 0.0) - potential.get(dst, 0.0) - _EDGE_MARGIN

    top = {
        market.pair: weight(*market.pair, rate)
        for market, rate in _best_per_pair((m, _top_rate(m, keep)) for m in markets)
    }
    if not has_negative_cycle(top):
        return []
    sized = []
    for market in markets:
        price = prices.get(market.pair[0])
        rate = None if price is None else _detection_rate(market, params.target_notional_usdt / price, keep)
        if rate is not None:
            sized.append((market, rate))
    chosen = _best_per_pair(sized)
    detection = {market.pair: weight(*market.pair, rate) for market, rate in chosen}
    if not has_negative_cycle(detection):
        return []
    by_pair = {market.pair: market for market, _ in chosen}
    rates = {market.pair: rate for market, rate in chosen}
    groups: dict[Cause, _Group] = {}
    for cycle in short_cycles(detection):
        path = rotate(cycle)
        pairs = list(itertools.pairwise(path))
        markets_walked = [by_pair[pair] for pair in pairs]
        walk = _walk(path, markets_walked, prices, keep, params)
        if walk is None:
            continue
        cause = _cause(pairs, markets_walked, rates, prices)
        rank = (-walk.net_edge_pct, len(pairs), "->".join(path))
        group = groups.get(cause)
        if group is None:
            groups[cause] = _Group(rank, path, markets_walked, walk)
            continue
        group.variants += 1
        if rank < group.rank:
            group.rank, group.path, group.markets, group.walk = rank, path, markets_walked, walk
    return [
        _opportunity(exchange, group, cause, prices, keep, params, now_ms)
        for cause, group in sorted(groups.items(), key=lambda item: item[1].rank)
    ]


Cause = tuple[str, str, str]  # (the market, e.g. ETH-BTC; the leg's source; its target)


@dataclass(slots=True)
class _Walk:
    amounts: list[float]
    leg_prices: list[float]
    net_edge_pct: float


@dataclass(slots=True)
class _Group:
    rank: tuple[float, int, str]
    path: list[str]
    markets: list[Market]
    walk: _Walk
    variants: int = 1


def _cause(
    pairs: Sequence[Pair], markets: Sequence[Market], rates: Mapping[Pair, float], m: Mapping[str, float]
) -> Cause:
    """The leg furthest above its fair rate m(X) / m(Y); ties to the market sorting first."""

    def deviation(pair: Pair) -> float:
        source, target = pair
        return math.log(rates[pair]) - (math.log(m[source]) - math.log(m[target]))

    pair, market = min(zip(pairs, markets, strict=True), key=lambda item: (-deviation(item[0]), item[1].book.symbol))
    return (market.book.symbol, pair[0], pair[1])


def _listing(books: Iterable[OrderBookSnapshot]) -> list[Listing]:
    listed = []
    for book in books:
        base, quote = book.symbol.split("-", 1)
        listed.append((book, base, quote))
    return listed


def _markets(listed: Iterable[Listing]) -> list[Market]:
    markets = []
    for book, base, quote in listed:
        if base == quote:
            continue
        if book.asks:
            markets.append(Market(book, True, (quote, base)))
        if book.bids:
            markets.append(Market(book, False, (base, quote)))
    return markets


def _best_per_pair(rated: Iterable[tuple[Market, float]]) -> list[tuple[Market, float]]:
    """One edge per ordered asset pair: the best-rated market, should two books join the
    same assets (BTC-ETH next to ETH-BTC)."""
    best: dict[Pair, tuple[Market, float]] = {}
    for market, rate in rated:
        seen = best.get(market.pair)
        if seen is None or rate > seen[1]:
            best[market.pair] = (market, rate)
    return list(best.values())


def _best_value_ratio(listed: Sequence[Listing], prices: Mapping[str, float], keep: float) -> float:
    """The largest top-of-book rate * usdt_price(dst) / usdt_price(src) over all edges:
    exp(-weight) of the lightest potential-shifted edge (an unpriced asset has potential 0,
    that is price 1)."""
    best = 0.0
    for book, base, quote in listed:
        base_per_quote = prices.get(quote, 1.0) / prices.get(base, 1.0)
        if book.bids:
            best = max(best, book.bids[0][0] * base_per_quote)
        if book.asks:
            best = max(best, 1.0 / (book.asks[0][0] * base_per_quote))
    return best * keep


def _top_rate(market: Market, keep: float) -> float:
    if market.is_buy:
        return keep / market.book.asks[0][0]
    return market.book.bids[0][0] * keep


def _detection_rate(market: Market, amount: float, keep: float) -> float | None:
    if market.is_buy:
        bought = spend_notional(market.book.asks, amount)
        return None if bought is None else keep / bought[0]
    vwap = take_qty(market.book.bids, amount)
    return None if vwap is None else vwap * keep


def _mid(book: OrderBookSnapshot) -> float:
    # A one-sided book still prices its asset, at its only side.
    if book.bids and book.asks:
        return (book.bids[0][0] + book.asks[0][0]) / 2.0
    return (book.bids or book.asks)[0][0]


def usdt_mids(listed: Sequence[Listing], fallback: Callable[[str], float | None]) -> dict[str, float]:
    """m(A) for each asset of an exchange: 1 for USDT, the mid of its own A-USDT book, else
    the slice's median A-USDT mid (`fallback`); an asset with neither is left out."""
    prices = {"USDT": 1.0}
    for book, base, quote in sorted(listed, key=lambda listing: listing[0].symbol):
        if quote == "USDT" and base not in prices and (book.bids or book.asks):
            prices[base] = _mid(book)
    for asset in sorted({a for book, base, quote in listed if book.bids or book.asks for a in (base, quote)}):
        if asset not in prices and (price := fallback(asset)) is not None:
            prices[asset] = price
    return prices


def rotate(cycle: Sequence[str]) -> list[str]:
    """The cycle as a closed path starting and ending at USDT where it passes through
    USDT, else at its alphabetically smallest asset."""
    start = cycle.index("USDT") if "USDT" in cycle else cycle.index(min(cycle))
    path = list(cycle[start:]) + list(cycle[:start])
    return [*path, path[0]]


def _walk(
    path: list[str], markets: list[Market], prices: Mapping[str, float], keep: float, params: ScanParams
) -> _Walk | None:
    """The cycle re-walked at the target notional, or None when it does not clear the bar."""
    start_amount = params.target_notional_usdt / prices[path[0]]
    walked = walk_legs([market.leg(keep) for market in markets], start_amount)
    if walked is None:
        return None
    amounts, leg_prices = walked
    net_edge_pct = (amounts[-1] / amounts[0] - 1.0) * 100.0 - params.slippage_bps / 100.0
    if net_edge_pct < params.min_net_edge_pct:
        return None
    return _Walk(amounts, leg_prices, net_edge_pct)


def _opportunity(
    exchange: str,
    group: _Group,
    cause: Cause,
    prices: Mapping[str, float],
    keep: float,
    params: ScanParams,
    now_ms: int,
) -> Opportunity:
    """The full figures of a group's best cycle."""
    path, markets, walk = group.path, group.markets, group.walk
    amounts, net_edge_pct = walk.amounts, walk.net_edge_pct
    start_price = prices[path[0]]
    start_amount = amounts[0]
    legs = [market.leg(keep) for market in markets]
    product = amounts[-1] / amounts[0]
    slippage_pct = params.slippage_bps / 100.0
    gross_edge_pct = (product / keep ** len(legs) - 1.0) * 100.0
    fees_pct = gross_edge_pct - (product - 1.0) * 100.0
    books = [market.book for market in markets]
    depths = [leg.depth() for leg in legs]
    flags = risk_flags(
        net_edge_pct=net_edge_pct,
        params=params,
        books=books,
        depth_shares=[amount / depth for amount, depth in zip(amounts[:-1], depths, strict=True)],
    )
    expected_profit_usdt = net_edge_pct / 100.0 * params.target_notional_usdt
    optimum = cycle_optimum(legs, slippage_pct / 100.0)
    optimal_qty, optimal_profit = optimum or (start_amount, expected_profit_usdt / start_price)
    return Opportunity(
        type="triangular",
        symbol=">".join(path),
        buy_exchange=exchange,
        sell_exchange=exchange,
        buy_vwap=walk.leg_prices[0],
        sell_vwap=walk.leg_prices[-1],
        gross_edge_pct=gross_edge_pct,
        net_edge_pct=net_edge_pct,
        expected_profit_usdt=expected_profit_usdt,
        available_qty=max_start_amount(legs, depths) or start_amount,
        risk_flag=most_serious(flags),
        ts_detected=now_ms,
        fees_pct=fees_pct,
        slippage_pct=slippage_pct,
        withdraw_pct=0.0,
        optimal_qty=optimal_qty,
        optimal_profit_usdt=optimal_profit * start_price,
        exchange=exchange,
        path=path,
        leg_prices=walk.leg_prices,
        risk_flags=flags,
        evidence=evidence(books),
        variants=group.variants,
        cause=f"{cause[1]}>{cause[2]}@{cause[0]}",
    )
