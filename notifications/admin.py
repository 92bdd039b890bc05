"""Subscribers in admin: listed, filtered by state and mode, editable."""

from __future__ import annotations

from django.contrib import admin

from notifications.models import Delivery, Subscriber


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = (
        "chat_id",
        "username",
        "is_active",
        "mode",
        "min_net_edge_pct",
        "type_filter",
        "only_ok",
        "last_digest_at",
        "created_at",
    )
    list_filter = ("is_active", "mode", "type_filter", "only_ok")
    search_fields = ("username", "=chat_id")
    list_editable = ("is_active", "mode")
    readonly_fields = ("last_digest_at", "deactivated_reason", "created_at", "updated_at")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("subscriber", "opportunity", "net_edge_pct", "created_at", "sent_at")
    list_filter = ("sent_at",)
    raw_id_fields = ("subscriber", "opportunity")
    list_select_related = ("subscriber",)
