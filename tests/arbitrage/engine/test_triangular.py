"""Triangular opportunities: worked examples, and the search against brute force."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbitrage.engine.cycles import has_negative_cycle, short_cycles
from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import FeeSchedule, Opportunity, ScanParams
from arbitrage.engine.vwap import spend_notional, take_qty
from kernel.book import OrderBookSnapshot, parse_book_json
from tests.arbitrage.engine.factories import NOW, book

KEEP = 1 - 10 / 10_000  # the default 10 bps taker fee


def triangular(books: list[OrderBookSnapshot], params: ScanParams | None = None, fees: FeeSchedule | None = None):
    result = scan_books(books, NOW, params or ScanParams(), fees or FeeSchedule())
    return {o.symbol: o for o in result.opportunities if o.type == "triangular"}


# ETH-BTC bids 0.0612 where the USDT books imply 0.06: sell ETH for BTC there.
TRIANGLE = [
    book("binance", "BTC-USDT", bids=[[49_990, 10]], asks=[[50_000, 10]]),
    book("binance", "ETH-USDT", bids=[[2_999, 100]], asks=[[3_000, 100]]),
    book("binance", "ETH-BTC", bids=[[0.0612, 100]], asks=[[0.0613, 100]]),
]


def test_worked_three_leg_cycle() -> None:
    found = triangular(TRIANGLE)
    assert list(found) == ["USDT>ETH>BTC>USDT"]  # the other direction loses
    o = found["USDT>ETH>BTC>USDT"]
    product = KEEP**3 * (1 / 3_000) * 0.0612 * 49_990
    gross = ((1 / 3_000) * 0.0612 * 49_990 - 1) * 100
    net = (product - 1) * 100 - 0.05
    assert (o.exchange, o.buy_exchange, o.sell_exchange) == ("binance", "binance", "binance")
    assert o.path == ["USDT", "ETH", "BTC", "USDT"]
    assert o.leg_prices == [3_000, 0.0612, 49_990]
    assert (o.buy_vwap, o.sell_vwap) == (3_000, 49_990)
    assert o.gross_edge_pct == pytest.approx(gross)
    assert o.fees_pct == pytest.approx(gross - (product - 1) * 100)
    assert o.slippage_pct == pytest.approx(0.05)
    assert o.withdraw_pct == 0.0
    assert o.net_edge_pct == pytest.approx(net)
    assert o.net_edge_pct == pytest.approx(o.gross_edge_pct - o.fees_pct - o.slippage_pct)
    assert o.expected_profit_usdt == pytest.approx(net / 100 * 1000)
    # The thinnest leg is the first: 100 ETH at 3000 is 300000 USDT (the ETH-BTC bids
    # would take 100 ETH, which 300000 USDT does not quite buy after the fee).
    assert o.available_qty == pytest.approx(300_000)
    assert o.optimal_qty == pytest.approx(300_000)
    assert o.optimal_profit_usdt == pytest.approx(300_000 * (product - 1.0005))
    assert o.risk_flag == "ok"
    assert [(e.exchange, e.symbol) for e in o.evidence] == [
        ("binance", "ETH-USDT"),
        ("binance", "ETH-BTC"),
        ("binance", "BTC-USDT"),
    ]


def test_a_leg_that_cannot_fill_the_target_notional_drops_the_cycle() -> None:
    thin = book("binance", "ETH-BTC", bids=[[0.0612, 0.2]], asks=[[0.0613, 100]])  # 1000 USDT is 0.333 ETH
    assert triangular([*TRIANGLE[:2], thin]) == {}


def test_fees_and_threshold_decide() -> None:
    [o] = triangular(TRIANGLE).values()
    assert triangular(TRIANGLE, ScanParams(min_net_edge_pct=o.net_edge_pct))
    assert triangular(TRIANGLE, ScanParams(min_net_edge_pct=o.net_edge_pct + 1e-9)) == {}
    assert triangular(TRIANGLE, fees=FeeSchedule(taker_fee_bps={"binance": 70})) == {}  # 3 x 0.7 % > 1.98 %
    assert triangular(TRIANGLE, fees=FeeSchedule(taker_fee_bps={"okx": 70}))  # another exchange's fee
    assert triangular(TRIANGLE, ScanParams(min_net_edge_pct=-1e6), FeeSchedule(taker_fee_bps={"binance": 1e4})) == {}


def test_worked_four_leg_cycle() -> None:
    # A ring of markets: USDT -> AAA -> BBB -> CCC -> USDT is the only way round on okx, and
    # CCC-USDT bids 10.3 where the ring implies 10. BBB's USDT mid comes from gate.
    books = [
        book("okx", "AAA-USDT", bids=[[9.999, 1e5]], asks=[[10.001, 1e5]]),
        book("okx", "BBB-AAA", bids=[[1.9998, 1e5]], asks=[[2.0002, 1e5]]),
        book("okx", "CCC-BBB", bids=[[0.49995, 1e5]], asks=[[0.50005, 1e5]]),
        book("okx", "CCC-USDT", bids=[[10.3, 1e5]], asks=[[10.31, 1e5]]),
        book("gate", "BBB-USDT", bids=[[19.99, 1e5]], asks=[[20.01, 1e5]]),
    ]
    found = triangular(books)
    assert list(found) == ["USDT>AAA>BBB>CCC>USDT"]
    o = found["USDT>AAA>BBB>CCC>USDT"]
    product = KEEP**4 / 10.001 / 2.0002 / 0.50005 * 10.3
    assert o.leg_prices == [10.001, 2.0002, 0.50005, 10.3]
    assert o.net_edge_pct == pytest.approx((product - 1) * 100 - 0.05)
    # Against the USDT mids (CCC at its own 10.305, BBB at gate's 20) it is CCC-BBB that is
    # off: buying CCC with BBB there gets 1.9998 CCC where 20 / 10.305 = 1.941 is fair.
    assert (o.variants, o.cause) == (1, "BBB>CCC@CCC-BBB")


def test_an_asset_without_a_usdt_mid_takes_no_part() -> None:
    # The same ring, but BBB has a USDT mid nowhere in the slice.
    books = [
        book("okx", "AAA-USDT", bids=[[9.999, 1e5]], asks=[[10.001, 1e5]]),
        book("okx", "BBB-AAA", bids=[[1.9998, 1e5]], asks=[[2.0002, 1e5]]),
        book("okx", "CCC-BBB", bids=[[0.49995, 1e5]], asks=[[0.50005, 1e5]]),
        book("okx", "CCC-USDT", bids=[[10.3, 1e5]], asks=[[10.31, 1e5]]),
    ]
    assert triangular(books) == {}


def test_cycles_without_usdt_start_at_their_smallest_asset() -> None:
    # SOL-ETH bids 0.0515 where the USDT books imply 0.05: four cycles go through it.
    books = [
        book("kraken", "BTC-USDT", bids=[[49_999, 100]], asks=[[50_001, 100]]),
        book("kraken", "ETH-USDT", bids=[[2_999.9, 1e3]], asks=[[3_000.1, 1e3]]),
        book("kraken", "SOL-USDT", bids=[[149.99, 1e4]], asks=[[150.01, 1e4]]),
        book("kraken", "ETH-BTC", bids=[[0.059999, 1e3]], asks=[[0.060001, 1e3]]),
        book("kraken", "SOL-BTC", bids=[[0.0029999, 1e4]], asks=[[0.0030001, 1e4]]),
        book("kraken", "SOL-ETH", bids=[[0.0515, 1e4]], asks=[[0.0516, 1e4]]),
    ]
    # Four cycles go through the one mispriced market: one opportunity, its best cycle, with
    # the number of cycles sharing its cause.
    products = {
        "USDT>SOL>ETH>USDT": KEEP**3 / 150.01 * 0.0515 * 2_999.9,
        "BTC>SOL>ETH>BTC": KEEP**3 / 0.0030001 * 0.0515 * 0.059999,
        "USDT>SOL>ETH>BTC>USDT": KEEP**4 / 150.01 * 0.0515 * 0.059999 * 49_999,
        "USDT>BTC>SOL>ETH>USDT": KEEP**4 / 50_001 / 0.0030001 * 0.0515 * 2_999.9,
    }
    assert all(product > 1.0005 for product in products.values())  # all four are profitable
    best = max(products, key=lambda path: (products[path], -path.count(">")))
    found = triangular(books)
    assert list(found) == [best] == ["BTC>SOL>ETH>BTC"]
    o = found["BTC>SOL>ETH>BTC"]
    assert (o.variants, o.cause) == (4, "SOL>ETH@SOL-ETH")
    product = products["BTC>SOL>ETH>BTC"]
    assert o.path == ["BTC", "SOL", "ETH", "BTC"]
    assert o.net_edge_pct == pytest.approx((product - 1) * 100 - 0.05)
    # The first leg spends 1000 USDT worth of BTC at the BTC-USDT mid; profit is in USDT.
    assert o.expected_profit_usdt == pytest.approx(o.net_edge_pct * 10)
    start_btc = 1000 / 50_000
    assert o.optimal_profit_usdt >= o.expected_profit_usdt
    assert o.available_qty > start_btc


def test_a_fair_market_has_no_cycles() -> None:
    books = [
        book("gate", "BTC-USDT", bids=[[49_999, 100]], asks=[[50_001, 100]]),
        book("gate", "ETH-USDT", bids=[[2_999.9, 1e3]], asks=[[3_000.1, 1e3]]),
        book("gate", "ETH-BTC", bids=[[0.059999, 1e3]], asks=[[0.060001, 1e3]]),
    ]
    assert triangular(books) == {}
    # Only negative cycles are candidates (docs/design.md): a cycle that loses the fees is not
    # reported even when the threshold would let a loss through.
    assert triangular(books, ScanParams(min_net_edge_pct=-1)) == {}


# --- the graph search against brute force -----------------------------------------------

eighths = st.integers(min_value=-8, max_value=8).map(lambda k: k / 8)  # sums stay exact


@st.composite
def weighted_graphs(draw: st.DrawFn) -> dict[tuple[str, str], float]:
    nodes = "ABCDEF"[: draw(st.integers(min_value=3, max_value=6))]
    pairs = [(a, b) for a in nodes for b in nodes if a != b]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, min_size=3, max_size=len(pairs)))
    return {pair: draw(eighths) for pair in chosen}


def brute_cycles(weights: dict[tuple[str, str], float], limit: float) -> set[tuple[str, ...]]:
    nodes = sorted({node for pair in weights for node in pair})
    found = set()
    for size in (3, 4):
        for cycle in itertools.permutations(nodes, size):
            if cycle[0] != min(cycle):
                continue  # each directed cycle once, from its smallest node
            edges = list(zip(cycle, cycle[1:] + cycle[:1], strict=True))
            if all(e in weights for e in edges) and sum(weights[e] for e in edges) <= limit:
                found.add(cycle)
    return found


def from_smallest(cycle: tuple[str, ...]) -> tuple[str, ...]:
    start = cycle.index(min(cycle))
    return cycle[start:] + cycle[:start]


@settings(max_examples=200, deadline=None)
@given(weights=weighted_graphs(), limit=st.sampled_from([0.0, 0.125, 0.5]))
def test_short_cycles_finds_exactly_the_brute_force_cycles(weights: dict, limit: float) -> None:
    cycles = short_cycles(weights, limit)
    assert len(cycles) == len(set(map(from_smallest, cycles)))  # each once
    assert set(map(from_smallest, cycles)) == brute_cycles(weights, limit)


@settings(max_examples=200, deadline=None)
@given(weights=weighted_graphs(), shift=st.sampled_from([0.0, -0.125, 0.25]))
def test_bellman_ford_agrees_with_brute_force(weights: dict, shift: float) -> None:
    nodes = sorted({node for pair in weights for node in pair})
    negative = False
    for size in range(2, len(nodes) + 1):
        for cycle in itertools.permutations(nodes, size):
            edges = list(zip(cycle, cycle[1:] + cycle[:1], strict=True))
            if all(e in weights for e in edges) and sum(weights[e] + shift for e in edges) < 0:
                negative = True
    assert has_negative_cycle(weights, shift) == negative


# --- whole scans on random small exchanges against brute force ---------------------------

ALTS = ("AAA", "BBB", "CCC", "DDD")


@st.composite
def small_markets(draw: st.DrawFn) -> tuple[list[OrderBookSnapshot], ScanParams, float]:
    alts = ALTS[: draw(st.integers(min_value=2, max_value=4))]
    fair = {"USDT": 1.0} | {a: draw(st.floats(min_value=0.5, max_value=50)) for a in alts}
    symbols = [f"{a}-USDT" for a in alts]
    for a, b in itertools.combinations(alts, 2):
        if draw(st.booleans()):
            symbols.append(f"{a}-{b}" if draw(st.booleans()) else f"{b}-{a}")
    books = []
    for symbol in symbols:
        base, quote = symbol.split("-")
        # Planted mispricings: a market off its fair cross by up to 3 %, often.
        mid = fair[base] / fair[quote] * draw(st.sampled_from([1.0, 1.0, 0.97, 0.985, 1.01, 1.03]))
        half = mid * draw(st.sampled_from([1, 5, 20])) / 20_000
        step = mid * draw(st.sampled_from([0.0001, 0.002]))
        levels = draw(st.integers(min_value=1, max_value=3))
        sizes = [draw(st.floats(min_value=100, max_value=2_000)) / fair[base] for _ in range(2 * levels)]
        bids = [[mid - half - i * step, sizes[i]] for i in range(levels)]
        asks = [[mid + half + i * step, sizes[levels + i]] for i in range(levels)]
        books.append(book("ex", symbol, bids=bids, asks=asks))
    params = ScanParams(
        min_net_edge_pct=draw(st.sampled_from([-0.5, 0.0, 0.1, 0.5])),
        slippage_bps=draw(st.sampled_from([0.0, 5.0])),
    )
    return books, params, draw(st.sampled_from([0.0, 7.5, 10.0, 25.0]))


def brute_force(books: list[OrderBookSnapshot], params: ScanParams, taker_bps: float, slack: float):
    """All reportable cycles by enumerating every 3- and 4-cycle: detection rates at the
    target notional (product >= the candidate floor * (1 + slack)), then the re-walk."""
    keep = 1 - taker_bps / 10_000
    by_pair = {}
    for b in books:
        base, quote = b.symbol.split("-")
        by_pair[(quote, base)] = (b.asks, True, b.symbol)
        by_pair[(base, quote)] = (b.bids, False, b.symbol)
    mids = {b.symbol.split("-")[0]: (b.bids[0][0] + b.asks[0][0]) / 2 for b in books if b.symbol.endswith("-USDT")}
    price = {"USDT": 1.0} | mids

    def step(pair: tuple[str, str], amount: float) -> float | None:
        levels, is_buy, _ = by_pair[pair]
        if is_buy:
            bought = spend_notional(levels, amount)
            return None if bought is None else bought[1] * keep
        vwap = take_qty(levels, amount)
        return None if vwap is None else vwap * amount * keep

    floor = 1.0 + slack  # only negative cycles are candidates: a rate product above 1
    found = {}
    assets = sorted(price)
    for size in (3, 4):
        for cycle in itertools.permutations(assets, size):
            if cycle[0] != min(cycle):
                continue
            start = cycle.index("USDT") if "USDT" in cycle else 0
            path = [*cycle[start:], *cycle[:start], cycle[start]]
            pairs = list(itertools.pairwise(path))
            if not all(pair in by_pair for pair in pairs):
                continue
            detection = 1.0
            deviations = {}
            for pair in pairs:
                amount = params.target_notional_usdt / price[pair[0]]
                out = step(pair, amount)
                detection *= math.nan if out is None else out / amount
                if out is not None:  # ln(rate) - ln(fair), fair = m(X) / m(Y)
                    deviations[pair] = math.log(out / amount) - math.log(price[pair[0]] / price[pair[1]])
            if not detection >= floor:
                continue
            # The cause: the leg furthest above its fair rate; legs within rounding of it may be.
            top = max(deviations.values())
            causes = {f"{x}>{y}@{by_pair[(x, y)][2]}" for (x, y), d in deviations.items() if d >= top - 1e-9}
            amount = start_amount = params.target_notional_usdt / price[path[0]]
            for pair in pairs:
                amount = step(pair, amount) if amount is not None else None
            if amount is None:
                continue
            net = (amount / start_amount - 1) * 100 - params.slippage_bps / 100
            if net >= params.min_net_edge_pct:
                found[">".join(path)] = (net, causes)
    return found


@settings(max_examples=120, deadline=None)
@given(market=small_markets())
def test_scan_reports_exactly_the_brute_force_cycles(market: tuple) -> None:
    books, params, taker = market
    fees = FeeSchedule(taker_fee_bps={"ex": taker})
    found: dict[str, Opportunity] = triangular(books, params, fees)
    # Rounding decides cycles within a hair of the floor either way.
    surely = brute_force(books, params, taker, slack=1e-9)
    maybe = brute_force(books, params, taker, slack=-1e-8)
    causes = [o.cause for o in found.values()]
    assert len(causes) == len(set(causes)), "one opportunity per cause"
    for _net, possible in surely.values():
        assert possible & set(causes), "no profitable cycle's cause is lost"
    for symbol, o in found.items():
        assert symbol in maybe and o.cause in maybe[symbol][1]
        # The group's best cycle, counting every cycle of the group.
        sure_group = [net for net, possible in surely.values() if possible == {o.cause}]
        maybe_group = [net for net, possible in maybe.values() if o.cause in possible]
        assert len(sure_group) <= (o.variants or 0) <= len(maybe_group)
        assert o.net_edge_pct >= max(sure_group, default=-math.inf) - 1e-9
        assert o.net_edge_pct == pytest.approx(maybe[symbol][0], abs=1e-9)
        assert o.net_edge_pct >= params.min_net_edge_pct
        assert o.net_edge_pct == pytest.approx(o.gross_edge_pct - o.fees_pct - o.slippage_pct, abs=1e-9)
        assert o.optimal_profit_usdt >= o.expected_profit_usdt - 1e-9 * params.target_notional_usdt
        if o.path[0] == "USDT":  # the target size fits, so the most every leg allows is more
            assert o.available_qty >= params.target_notional_usdt * (1 - 1e-9)


@settings(max_examples=60, deadline=None)
@given(market=small_markets(), raise_bps=st.sampled_from([0.5, 5.0, 40.0]))
def test_raising_the_fee_never_raises_a_net_edge(market: tuple, raise_bps: float) -> None:
    books, _, taker = market
    everything = ScanParams(min_net_edge_pct=-1_000)
    before = triangular(books, everything, FeeSchedule(taker_fee_bps={"ex": taker}))
    after = triangular(books, everything, FeeSchedule(taker_fee_bps={"ex": taker + raise_bps}))
    for symbol in set(before) & set(after):
        assert after[symbol].net_edge_pct <= before[symbol].net_edge_pct + 1e-12


def test_an_exchange_without_usdt_markets_is_sized_at_the_slice_usdt_mids() -> None:
    # kraken lists only the crosses; okx's USDT books price them (1000 USDT = 0.02 BTC).
    books = [
        book("kraken", "ETH-BTC", bids=[[0.059999, 1e3]], asks=[[0.060001, 1e3]]),
        book("kraken", "SOL-BTC", bids=[[0.0029999, 1e4]], asks=[[0.0030001, 1e4]]),
        book("kraken", "SOL-ETH", bids=[[0.0515, 1e4]], asks=[[0.0516, 1e4]]),
        book("okx", "BTC-USDT", bids=[[49_999, 100]], asks=[[50_001, 100]]),
        book("okx", "ETH-USDT", bids=[[2_999.9, 1e3]], asks=[[3_000.1, 1e3]]),
        book("okx", "SOL-USDT", bids=[[149.99, 1e4]], asks=[[150.01, 1e4]]),
    ]
    found = triangular(books)
    assert set(found) == {"BTC>SOL>ETH>BTC"}
    o = found["BTC>SOL>ETH>BTC"]
    assert o.exchange == "kraken"
    product = KEEP**3 / 0.0030001 * 0.0515 * 0.059999
    assert o.net_edge_pct == pytest.approx((product - 1) * 100 - 0.05)
    assert o.expected_profit_usdt == pytest.approx(o.net_edge_pct * 10)
    # All of the SOL-BTC asks (1e4 SOL) is the thinnest leg, in BTC; the profit is linear.
    assert o.available_qty == pytest.approx(1e4 * 0.0030001)
    assert o.optimal_qty == pytest.approx(o.available_qty)
    assert o.optimal_profit_usdt == pytest.approx(o.available_qty * (product - 1.0005) * 50_000)


ORDER_CASE = [
    '{"exchange":"exa","symbol":"ETH-USDT","bids":[[9.99,10000.0]],"asks":[[10.01,10000.0]],"ts_event":1000,"ts_ingest":1000}',
    '{"exchange":"exa","symbol":"SOL-USDT","bids":[[1.998,100000.0]],"asks":[[2.002,100000.0]],"ts_event":1000,"ts_ingest":1000}',
    '{"exchange":"exa","symbol":"ETH-BTC","bids":[[0.0999,1000000.0]],"asks":[[0.1001,1000000.0]],"ts_event":1000,"ts_ingest":1000}',
    '{"exchange":"exa","symbol":"SOL-BTC","bids":[[0.0194,1000000.0]],"asks":[[0.0195,500.0],[0.0197,1000000.0]],'
    '"ts_event":1000,"ts_ingest":1000}',
    '{"exchange":"exa","symbol":"SOL-ETH","bids":[[0.2,1000000.0]],"asks":[[0.2002,1000000.0]],"ts_event":1000,"ts_ingest":1000}',
    '{"exchange":"exb","symbol":"BTC-USDT","bids":[[109.9,1000.0]],"asks":[[110.1,1000.0]],"ts_event":1000,"ts_ingest":1000}',
]


def test_an_asset_without_a_usdt_market_here_is_sized_at_the_slices_usdt_mid_whatever_the_input_order():
    def cycle(lines: list[str]):
        found = scan_books([parse_book_json(line) for line in lines], 1000, ScanParams(), FeeSchedule()).opportunities
        return next(o for o in found if o.path == ["BTC", "SOL", "ETH", "BTC"])

    forward, swapped = cycle(ORDER_CASE), cycle([ORDER_CASE[1], ORDER_CASE[0], *ORDER_CASE[2:]])
    assert forward.as_dict() == swapped.as_dict()
    # BTC is priced at exb's BTC-USDT mid (110): the first leg spends 1000/110 BTC, which the
    # 0.0195 level (500 SOL = 9.75 BTC) fills whole.
    assert forward.leg_prices is not None and forward.leg_prices[0] == 0.0195
    assert forward.available_qty > 1000 / 110
