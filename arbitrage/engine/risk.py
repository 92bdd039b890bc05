"""Risk flags and evidence: why a user should (not) trust an opportunity.

The flags are ordered by seriousness: an edge that is too good to be true or a transfer
that cannot happen makes the opportunity fiction; an unknown fee, a lagging feed or a thin
book make it doubtful. `risk_flag` is the first that applies, `risk_flags` all of them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from arbitrage.engine.types import (
    RISK_ASSET_MISMATCH,
    RISK_EXTREME_EDGE,
    RISK_HIGH_LAG,
    RISK_NO_TRANSFER_ROUTE,
    RISK_OK,
    RISK_ROUTE_UNVERIFIED,
    RISK_THIN_BOOK,
    RISK_WITHDRAW_FEE_UNKNOWN,
    RISK_WITHDRAWALS_DISABLED,
    BookEvidence,
    ScanParams,
)
from kernel.book import OrderBookSnapshot

# docs/design.md, "Risk flags": the order `risk_flags` lists them in.
SERIOUSNESS = (
    RISK_ASSET_MISMATCH,
    RISK_NO_TRANSFER_ROUTE,
    RISK_EXTREME_EDGE,
    RISK_WITHDRAWALS_DISABLED,
    RISK_WITHDRAW_FEE_UNKNOWN,
    RISK_ROUTE_UNVERIFIED,
    RISK_HIGH_LAG,
    RISK_THIN_BOOK,
)


def risk_flags(
    *,
    net_edge_pct: float,
    params: ScanParams,
    books: Sequence[OrderBookSnapshot],
    depth_shares: Iterable[float],
    transfer: Collection[str] = (),
) -> list[str]:
    """Every flag that applies, most serious first (empty when none does).

    `depth_shares`: for each side the target size walked, the share of that side's
    visible depth it took (1.0 = all of it). `transfer`: the flags of the transfer route
    (arbitrage.engine.transfer).
    """
    raised = set(transfer)
    if net_edge_pct > params.extreme_edge_pct:
        raised.add(RISK_EXTREME_EDGE)
    if any(book.ts_ingest - book.ts_event > params.high_lag_ms for book in books):
        raised.add(RISK_HIGH_LAG)
    if any(share > params.thin_book_depth_share for share in depth_shares):
        raised.add(RISK_THIN_BOOK)
    return [flag for flag in SERIOUSNESS if flag in raised]


def most_serious(flags: Sequence[str]) -> str:
    """The flag to show when there is room for one; `ok` when there is none."""
    return flags[0] if flags else RISK_OK


def evidence(books: Iterable[OrderBookSnapshot]) -> list[BookEvidence]:
    """The health of each book used, as the user sees it next to the opportunity."""
    return [
        BookEvidence(
            exchange=book.exchange,
            symbol=book.symbol,
            ts_event=book.ts_event,
            ts_ingest=book.ts_ingest,
            lag_ms=book.ts_ingest - book.ts_event,
            seq_id=book.meta.get("seq_id"),
            checksum_ok=book.meta.get("checksum_ok"),
        )
        for book in books
    ]
