"""The opportunity engine: pure Python, no Django, no Redis, no ccxt.

`scan_books` is the entry point; the modules below it each do one step:
`vwap` (walking a book side), `spatial` and `triangular` (the two kinds of opportunity),
`optimal` (the profit-maximising size), `risk` (flags and evidence).
"""

from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import FeeSchedule, Opportunity, ScanParams, ScanResult

__all__ = ["FeeSchedule", "Opportunity", "ScanParams", "ScanResult", "scan_books"]
