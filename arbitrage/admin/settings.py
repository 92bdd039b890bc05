"""The scanner's settings in admin: one row, its rules in the form (the API saves through it)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from arbitrage.models import ScannerSettings


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
