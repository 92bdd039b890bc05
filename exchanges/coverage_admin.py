"""Admin for what ingest watches: the coverage mode (watchlist or whole market) and the pairs
`discover_markets` found, kept or left out and why. Discovery owns those rows: read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import DiscoveredMarket, MarketCoverage


@admin.register(MarketCoverage)
class MarketCoverageAdmin(admin.ModelAdmin):
    list_display = ("__str__", "max_symbols_per_exchange", "updated_at")
    fields = ("mode", "max_symbols_per_exchange")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not MarketCoverage.objects.exists()  # one row, created with defaults on first use

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        MarketCoverage.current()  # so the one row is there to click
        return super().changelist_view(request, extra_context)


@admin.register(DiscoveredMarket)
class DiscoveredMarketAdmin(admin.ModelAdmin):
    list_display = ("symbol", "included", "listed_on", "reason", "discovered_at")
    list_filter = ("included",)
    search_fields = ("symbol",)
    list_per_page = 200

    @admin.display(description="listed on")
    def listed_on(self, obj: DiscoveredMarket) -> str:
        names = list(obj.exchanges or [])
        return f"{len(names)}: {', '.join(names)}"

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        return super().get_search_results(request, queryset, search_term.upper())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
