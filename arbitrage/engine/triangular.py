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
   each next leg what the previous one produced) and reported when its net edge clears
   min_net_edge_pct.

The candidate floor is a rate product of 1: only negative cycles are candidates, as the
design says, whatever min_net_edge_pct is (a cycle that loses at detection is not reported
even when the threshold is below zero).

USDT prices (for sizing each leg and converting profits): an asset's own ASSET-USDT market
on the exchange, else the slice's median mid (the design's "its USDT mid"), else a cross
through the exchange's markets, taken in symbol order so the input order never matters.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from arbitrage.engine.optimal import Leg, cycle_optimum, max_start_amount, walk_legs
from arbitrage.engine.risk import evidence, most_serious, risk_flags
from arbitrage.engine.types import FeeSchedule, Opportunity, ScanParams
from arbitrage.engine.vwap import spend_notional, take_qty
from kernel.book import OrderBookSnapshot

# Shaved off every weight so that a cycle exactly on the floor, whose float sum may land a
# rounding error above it, still counts as negative. It only ever adds candidates.
_EDGE_MARGIN = 1e-9
Pair = tuple[str, str]
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
    listed = _listing(books)
    prices = usdt_prices(listed, usdt_fallback)
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
    found = []
    for cycle in short_cycles(detection):
        path = rotate(cycle)
        legs = [by_pair[pair] for pair in itertools.pairwise(path)]
        opportunity = _rewalk(exchange, path, legs, prices, keep, params, now_ms)
        if opportunity is not None:
            found.append(opportunity)
    return found


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


def usdt_prices(listed: Sequence[Listing], fallback: Callable[[str], float | None]) -> dict[str, float]:
    """USDT price of each asset of an exchange, from its own markets' mids.

    An asset with an ASSET-USDT (or USDT-ASSET) market gets that market's mid; others the
    slice's USDT mid (`fallback`) where it knows them; the rest a cross mid, breadth-first
    from the priced ones; assets connected to none of these have no price.
    """
    listed = sorted(listed, key=lambda listing: (listing[1], listing[2]))  # input order never matters
    prices = {"USDT": 1.0}
    for book, base, quote in listed:
        if quote == "USDT" and base not in prices and (book.bids or book.asks):
            prices[base] = _mid(book)
        elif base == "USDT" and quote not in prices and (book.bids or book.asks):
            prices[quote] = 1.0 / _mid(book)
    if all(base in prices and quote in prices for book, base, quote in listed if book.bids or book.asks):
        return prices  # every asset has an ASSET-USDT (or USDT-ASSET) market: the usual case
    # The slice's USDT mid of an asset this exchange does not quote in USDT comes before any
    # cross through this exchange's markets.
    for asset in sorted({a for book, base, quote in listed if book.bids or book.asks for a in (base, quote)}):
        if asset not in prices and (price := fallback(asset)) is not None:
            prices[asset] = price
    links: dict[str, list[tuple[str, float]]] = {}
    for book, base, quote in listed:
        if book.bids or book.asks:
            mid = _mid(book)
            links.setdefault(quote, []).append((base, mid))  # (other, units of here per other)
            links.setdefault(base, []).append((quote, 1.0 / mid))
    queue = deque(prices)
    unpriced = sorted(asset for asset in links if asset not in prices)
    while True:
        while queue:
            here = queue.popleft()
            for other, here_per_other in links.get(here, ()):
                if other not in prices:
                    prices[other] = prices[here] * here_per_other
                    queue.append(other)
        unpriced = [asset for asset in unpriced if asset not in prices]
        seed = next(((asset, p) for asset in unpriced if (p := fallback(asset)) is not None), None)
        if seed is None:
            return prices
        prices[seed[0]] = seed[1]
        queue.append(seed[0])


def has_negative_cycle(weights: Mapping[Pair, float], shift: float = 0.0) -> bool:
    """Whether the graph with each edge weighing `weights[edge] + shift` has a negative
    cycle: Bellman-Ford from a virtual source joined to every node at weight 0."""
    if not weights or min(weights.values()) + shift >= 0.0:
        return False  # distances all stay 0: the first pass would relax nothing
    index: dict[str, int] = {}
    for pair in weights:
        for asset in pair:
            index.setdefault(asset, len(index))
    adjacency: list[list[tuple[int, float]]] = [[] for _ in index]
    for (src, dst), w in weights.items():
        adjacency[index[src]].append((index[dst], w + shift))
    count = len(index)
    dist = [0.0] * count
    parent = [-1] * count
    # From all-zero distances only a negative edge relaxes anything.
    active = [node for node, edges in enumerate(adjacency) if any(w < 0.0 for _, w in edges)]
    for _ in range(count + 1):
        changed: list[int] = []
        seen: set[int] = set()
        for node in active:
            for other, w in adjacency[node]:
                candidate = dist[node] + w
                if candidate < dist[other]:
                    dist[other] = candidate
                    parent[other] = node
                    if other not in seen:
                        seen.add(other)
                        changed.append(other)
        if not changed:
            return False
        if _predecessors_close_a_cycle(parent, changed):
            return True
        active = changed
    return True


def _predecessors_close_a_cycle(parent: list[int], starts: Iterable[int]) -> bool:
    """A cycle in Bellman-Ford's predecessor graph is a negative cycle: stop early."""
    mark = [-1] * len(parent)
    for start in starts:
        node = start
        while node != -1 and mark[node] == -1:
            mark[node] = start
            node = parent[node]
        if node != -1 and mark[node] == start:
            return True
    return False


def short_cycles(weights: Mapping[Pair, float], limit: float = 0.0) -> list[tuple[str, ...]]:
    """Every simple cycle of 3 or 4 edges whose weights sum to at most `limit` (>= 0), each
    exactly once, as its nodes in order from the tail of its lowest-ranked anchor edge.

    Anchors are the edges of weight <= limit / 3: a 3-cycle within the limit has one (its
    lightest edge), and so has a 4-cycle (its lightest edge is <= limit / 4).
    """
    out: dict[str, dict[str, float]] = {}
    lightest_into: dict[str, float] = {}
    for (src, dst), w in weights.items():
        out.setdefault(src, {})[dst] = w
        lightest_into[dst] = min(lightest_into.get(dst, math.inf), w)
    anchors = sorted(pair for pair, w in weights.items() if w <= limit / 3.0)
    if not anchors:
        return []
    lightest = min(weights.values())
    rank = {pair: i for i, pair in enumerate(anchors)}
    none: dict[str, float] = {}

    def usable(src: str, dst: str, anchor: int) -> bool:
        # A cycle through a lower-ranked anchor is found from that anchor instead.
        return rank.get((src, dst), anchor + 1) > anchor

    cycles: list[tuple[str, ...]] = []
    for i, (u, v) in enumerate(anchors):
        if u not in lightest_into:
            continue  # nothing leads back to u
        w0 = weights[(u, v)]
        for x, w1 in out.get(v, none).items():
            if x == u or not usable(v, x, i):
                continue
            partial = w0 + w1
            w2 = out.get(x, none).get(u)
            if w2 is not None and partial + w2 <= limit and usable(x, u, i):
                cycles.append((u, v, x))
            if partial + lightest + lightest_into[u] > limit:
                continue  # no two more edges can close a 4-cycle within the limit
            for y, w2 in out.get(x, none).items():
                if y in (u, v) or not usable(x, y, i):
                    continue
                w3 = out.get(y, none).get(u)
                if w3 is not None and partial + w2 + w3 <= limit and usable(y, u, i):
                    cycles.append((u, v, x, y))
    return cycles


def rotate(cycle: Sequence[str]) -> list[str]:
    """The cycle as a closed path starting and ending at USDT where it passes through
    USDT, else at its alphabetically smallest asset."""
    start = cycle.index("USDT") if "USDT" in cycle else cycle.index(min(cycle))
    path = list(cycle[start:]) + list(cycle[:start])
    return [*path, path[0]]


def _rewalk(
    exchange: str,
    path: list[str],
    markets: list[Market],
    prices: Mapping[str, float],
    keep: float,
    params: ScanParams,
    now_ms: int,
) -> Opportunity | None:
    """The cycle's figures at the target notional, or None when it does not clear the bar."""
    start_price = prices[path[0]]
    start_amount = params.target_notional_usdt / start_price
    legs = [market.leg(keep) for market in markets]
    walked = walk_legs(legs, start_amount)
    if walked is None:
        return None
    amounts, leg_prices = walked
    product = amounts[-1] / amounts[0]
    slippage_pct = params.slippage_bps / 100.0
    net_edge_pct = (product - 1.0) * 100.0 - slippage_pct
    if net_edge_pct < params.min_net_edge_pct:
        return None
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
        buy_vwap=leg_prices[0],
        sell_vwap=leg_prices[-1],
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
        leg_prices=leg_prices,
        risk_flags=flags,
        evidence=evidence(books),
    )
