"""The audit in admin, read-only: scan records here, episodes in admin/episodes.py."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from arbitrage.models import ScanRecord


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
