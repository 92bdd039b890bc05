"""Spatial arbitrage: buy a symbol on one exchange, sell it on another (docs/design.md,
"The engine: Spatial").

For each symbol and each ordered pair of exchanges (A, B), A != B:
    buy_vwap, qty   = qty_for_notional(asks_A, N)          dropped when A cannot fill N
    sell_vwap       = vwap_for_qty(bids_B, qty)            dropped when B cannot take qty
    gross_edge_pct  = (sell_vwap - buy_vwap) / buy_vwap * 100
    fees_pct        = (taker_fee_bps[A] + taker_fee_bps[B]) / 100
    slippage_pct    = slippage_bps / 100
    withdraw_pct    = withdraw_fee * buy_vwap / (buy_vwap * qty) * 100
    net_edge_pct    = gross - fees - slippage - withdraw, reported when >= min_net_edge_pct

withdraw_fee is the transfer route's (arbitrage.engine.transfer): the cheapest network
both sides serve, or the flat fee where the source lists no networks.

N is the target notional in the symbol's quote: USDT as is, any other quote converted at
the median mid of the slice's QUOTE-USDT books (profits go back at the same price).

Cost: the buy walk is done once per book, not once per pair, and only for books whose best
ask could still be beaten by some exchange's best bid after the cheapest possible costs;
sell books are visited best bid first and the visit stops at the first bid that cannot
clear the threshold. In a fair market that is one comparison per book.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from arbitrage.engine.optimal import spatial_optimum
from arbitrage.engine.risk import evidence, most_serious, risk_flags
from arbitrage.engine.transfer import TransferRoute, cheapest_possible_fee, transfer_route
from arbitrage.engine.types import FeeSchedule, Opportunity, ScanParams
from arbitrage.engine.vwap import side_totals, spend_notional, take_qty
from kernel.book import OrderBookSnapshot

# Pruning compares bounds computed in a different order from the reported figures; this
# keeps an opportunity sitting exactly on the threshold from being pruned by rounding.
_PRUNE_SLACK_PCT = 1e-9


def find_spatial(
    by_symbol: Mapping[str, Sequence[OrderBookSnapshot]],
    quote_usdt: Callable[[str], float | None],
    params: ScanParams,
    fees: FeeSchedule,
    now_ms: int,
) -> list[Opportunity]:
    """Every valid spatial opportunity among usable books grouped by symbol.

    `quote_usdt(asset)` is the USDT price of a quote asset (None when the slice has none).
    """
    exchanges = {book.exchange for books in by_symbol.values() for book in books}
    taker = {exchange: fees.taker_bps(exchange) for exchange in exchanges}
    cheapest_taker = min(taker.values(), default=0.0)
    found: list[Opportunity] = []
    for symbol, books in by_symbol.items():
        if len(books) > 1:
            found.extend(_symbol_opportunities(symbol, books, quote_usdt, taker, cheapest_taker, params, fees, now_ms))
    return found


def _symbol_opportunities(
    symbol: str,
    books: Sequence[OrderBookSnapshot],
    quote_usdt: Callable[[str], float | None],
    taker: Mapping[str, float],
    cheapest_taker: float,
    params: ScanParams,
    fees: FeeSchedule,
    now_ms: int,
) -> Iterable[Opportunity]:
    base, quote = symbol.split("-", 1)
    to_usdt = 1.0 if quote == "USDT" else quote_usdt(quote)
    if to_usdt is None:
        return
    sellers = sorted(((book.bids[0][0], book) for book in books if book.bids), key=lambda item: -item[0])
    if not sellers:
        return
    top_bid = sellers[0][0]
    slippage_pct = params.slippage_bps / 100.0
    notional = params.target_notional_usdt / to_usdt
    for buyer in books:
        if not buyer.asks:
            continue
        # Every cost but the withdrawal, at its cheapest: no sell book can clear the
        # threshold unless its best bid beats the best ask by at least this much.
        floor_pct = params.min_net_edge_pct + slippage_pct + (taker[buyer.exchange] + cheapest_taker) / 100.0
        if buyer.asks[0][0] * (1.0 + (floor_pct - _PRUNE_SLACK_PCT) / 100.0) > top_bid:
            continue
        bought = spend_notional(buyer.asks, notional)
        if bought is None:
            continue
        buy_vwap, qty = bought
        if not qty > 0.0:
            continue  # a notional too small to buy anything representable
        # The route (so the withdrawal cost) depends on the seller: prune with its cheapest.
        least_withdraw_pct = _withdraw_pct(cheapest_possible_fee(fees, buyer.exchange, base), buy_vwap, qty)
        floor_bid = buy_vwap * (1.0 + (floor_pct + least_withdraw_pct - _PRUNE_SLACK_PCT) / 100.0)
        for best_bid, seller in sellers:
            if best_bid < floor_bid:
                break
            if seller.exchange == buyer.exchange:
                continue
            sell_vwap = take_qty(seller.bids, qty)
            if sell_vwap is None:
                continue
            route = transfer_route(fees, buyer.exchange, seller.exchange, base)
            withdraw_pct = _withdraw_pct(route.withdraw_fee, buy_vwap, qty)
            gross_edge_pct = (sell_vwap - buy_vwap) / buy_vwap * 100.0
            fees_pct = (taker[buyer.exchange] + taker[seller.exchange]) / 100.0
            net_edge_pct = gross_edge_pct - fees_pct - slippage_pct - withdraw_pct
            if net_edge_pct < params.min_net_edge_pct:
                continue
            yield _opportunity(
                symbol=symbol,
                buyer=buyer,
                seller=seller,
                buy_vwap=buy_vwap,
                sell_vwap=sell_vwap,
                qty=qty,
                to_usdt=to_usdt,
                gross_edge_pct=gross_edge_pct,
                fees_pct=fees_pct,
                slippage_pct=slippage_pct,
                withdraw_pct=withdraw_pct,
                net_edge_pct=net_edge_pct,
                route=route,
                params=params,
                now_ms=now_ms,
            )


def _withdraw_pct(withdraw_fee: float, buy_vwap: float, qty: float) -> float:
    # As docs/design.md writes it (not simplified), so the figures match it to the last bit.
    withdraw_cost = withdraw_fee * buy_vwap
    return withdraw_cost / (buy_vwap * qty) * 100.0


def _opportunity(
    *,
    symbol: str,
    buyer: OrderBookSnapshot,
    seller: OrderBookSnapshot,
    buy_vwap: float,
    sell_vwap: float,
    qty: float,
    to_usdt: float,
    gross_edge_pct: float,
    fees_pct: float,
    slippage_pct: float,
    withdraw_pct: float,
    net_edge_pct: float,
    route: TransferRoute,
    params: ScanParams,
    now_ms: int,
) -> Opportunity:
    books = (buyer, seller)
    flags = risk_flags(
        net_edge_pct=net_edge_pct,
        params=params,
        books=books,
        depth_shares=(buy_vwap * qty / side_totals(buyer.asks)[1], qty / side_totals(seller.bids)[0]),
        transfer=route.flags,
    )
    optimal_qty, optimal_profit = spatial_optimum(
        buyer.asks, seller.bids, (fees_pct + slippage_pct) / 100.0, route.withdraw_fee
    )
    return Opportunity(
        type="spatial",
        symbol=symbol,
        buy_exchange=buyer.exchange,
        sell_exchange=seller.exchange,
        buy_vwap=buy_vwap,
        sell_vwap=sell_vwap,
        gross_edge_pct=gross_edge_pct,
        net_edge_pct=net_edge_pct,
        expected_profit_usdt=net_edge_pct / 100.0 * buy_vwap * qty * to_usdt,
        available_qty=qty,
        risk_flag=most_serious(flags),
        ts_detected=now_ms,
        fees_pct=fees_pct,
        slippage_pct=slippage_pct,
        withdraw_pct=withdraw_pct,
        optimal_qty=optimal_qty,
        optimal_profit_usdt=optimal_profit * to_usdt,
        risk_flags=flags,
        evidence=evidence(books),
        transfer_network=route.network,
    )
