"""Admin of the scan: its settings, and the audit (scan records and episodes), read-only."""

from arbitrage.admin.audit import AuditAdmin, ScanRecordAdmin
from arbitrage.admin.episodes import EpisodeAdmin
from arbitrage.admin.settings import ScannerSettingsAdmin, ScannerSettingsForm

__all__ = ["AuditAdmin", "EpisodeAdmin", "ScanRecordAdmin", "ScannerSettingsAdmin", "ScannerSettingsForm"]
