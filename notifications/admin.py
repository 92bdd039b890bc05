"""Subscribers in admin: listed, filtered by state and mode, editable; what was sent to
them, read-only (part of the audit)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from arbitrage.admin import AuditAdmin
from notifications.models import Delivery, Subscriber


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = (
        "chat_id",
        "username",
        "is_active",
        "deactivated_reason",
        "mode",
        "filters_shown",
        "last_digest_at",
        "created_at",
    )
    list_filter = ("is_active", "mode")
    search_fields = ("username", "=chat_id")
    list_editable = ("is_active", "mode")
    readonly_fields = ("last_digest_at", "deactivated_reason", "created_at", "updated_at")

    @admin.display(description="filters")
    def filters_shown(self, obj: Subscriber) -> str:
        words = obj.opportunity_filter().as_dict()
        return " · ".join(f"{name}={value}" for name, value in words.items()) or "everything"


@admin.register(Delivery)
class DeliveryAdmin(AuditAdmin):
    list_display = ("subscriber", "episode_link", "net_edge_pct", "created_at", "sent_at")
    list_filter = ("sent_at",)
    raw_id_fields = ("subscriber", "episode")
    list_select_related = ("subscriber", "episode")

    @admin.display(description="episode", ordering="episode")
    def episode_link(self, obj: Delivery) -> SafeString:
        url = reverse("admin:arbitrage_episode_change", args=[obj.episode_id])
        return format_html('<a href="{}">{}</a>', url, obj.episode)
