"""Each risk flag in words a trader acts on: what it means and what to check. Said once
here for every place that shows flags to people (the dashboard's tooltips, Telegram)."""

from __future__ import annotations

RISK_WORDS: dict[str, str] = {
    "asset_mismatch": "The two exchanges list different token contracts on a shared network: probably two "
    "different coins under one ticker. Check the contracts before trading.",
    "no_transfer_route": "No network lets the coin leave the buy exchange and arrive on the sell exchange now. "
    "Only inventory already held on both sides can take it.",
    "extreme_edge": "The edge is too large to be likely: bad data, halted transfers or two coins sharing a "
    "ticker. Check both books and the deposit status.",
    "withdrawals_disabled": "Withdrawals of the coin are disabled on the buy exchange.",
    "withdraw_fee_unknown": "No withdrawal fee is known for the coin on the buy exchange; it was counted as 0. "
    "Check the fee before trading.",
    "route_unverified": "The buy exchange can send the coin, but whether the sell exchange accepts it on that "
    "network is unknown. Check its deposit page.",
    "high_lag": "A book used lags its exchange by more than the configured bound: prices may have moved.",
    "thin_book": "The target size takes most of the visible depth of a side: the real price may be worse.",
}
