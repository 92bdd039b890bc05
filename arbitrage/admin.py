from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from .models import Episode, ScannerSettings, ScanRecord


class ScannerSettingsForm(forms.ModelForm):
    class Meta:
        model = ScannerSettings
        fields = (
            "target_notional_usdt",
            "min_net_edge_pct",
            "slippage_bps",
            "stale_after_sec",
            "extreme_edge_pct",
            "high_lag_ms",
            "scan_interval_sec",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        min_edge, extreme = data.get("min_net_edge_pct"), data.get("extreme_edge_pct")
        if min_edge is not None and extreme is not None and extreme <= min_edge:
            self.add_error(
                "extreme_edge_pct",
                f"Must be above the min net edge ({min_edge} %), or every reported opportunity is flagged extreme.",
            )
        return data


@admin.register(ScannerSettings)
class ScannerSettingsAdmin(admin.ModelAdmin):
    form = ScannerSettingsForm
    list_display = (
        "__str__",
        "target_notional_usdt",
        "min_net_edge_pct",
        "slippage_bps",
        "stale_after_sec",
        "extreme_edge_pct",
        "scan_interval_sec",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One row only; it is created with defaults on first use.
        return not ScannerSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AuditAdmin(admin.ModelAdmin):
    """An append-only audit table in admin: rows are viewed, never added, edited or deleted
    (no delete button, no "delete selected" action); only the retention task prunes."""

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # viewing is still allowed through has_view_permission

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Episode)
class EpisodeAdmin(AuditAdmin):
    list_display = (
        "type",
        "symbol",
        "buy_exchange",
        "sell_exchange",
        "net_edge_pct",
        "peak_net_edge_pct",
        "expected_profit_usdt",
        "optimal_profit_usdt",
        "risk_flag",
        "is_open",
        "times_seen",
        "first_seen",
        "last_seen",
    )
    list_filter = ("type", "is_open", "risk_flag", "buy_exchange", "sell_exchange", "last_seen", "first_seen")
    search_fields = ("symbol", "buy_exchange", "sell_exchange", "key")
    date_hierarchy = "first_seen"
    ordering = ("-last_seen",)
    list_per_page = 50


@admin.register(ScanRecord)
class ScanRecordAdmin(AuditAdmin):
    """Every scan: when, how long, what it could use, what it found; degraded and late ones
    and the gaps between scans are where an operator looks first."""

    list_display = (
        "id",
        "started_at",
        "duration_ms",
        "books_used",
        "books_total",
        "books_stale",
        "books_unhealthy",
        "books_corrupt",
        "opportunities",
        "degraded",
        "degraded_reason",
        "status",
        "gap_before_ms",
    )
    list_filter = ("degraded", "status", "started_at")
    search_fields = ("degraded_reason",)
    date_hierarchy = "started_at"
    list_per_page = 100
