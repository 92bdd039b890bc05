"""The audit in the database: every scan as a record (`scans`), and the opportunity
episodes it opens, refreshes and closes (`episodes`)."""

from arbitrage.audit.episodes import LATEST_FIELDS, EpisodeStats, record_scan
from arbitrage.audit.scans import ScanOutcome, apply_scan

__all__ = ["LATEST_FIELDS", "EpisodeStats", "ScanOutcome", "apply_scan", "record_scan"]
