"""Admin for exchanges, fees and the watchlist. The forms hold the rules (the REST API
validates and saves through them too, so both say the same)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from kernel.ids import normalize_asset, normalize_exchange_id, normalize_symbol

from .models import Exchange, WatchedSymbol, WithdrawalFee


class ExchangeForm(forms.ModelForm):
    class Meta:
        model = Exchange
        fields = ("id", "name", "enabled", "taker_fee_bps", "fee_set_by_admin")

    def clean_id(self) -> str:
        value: str = self.cleaned_data["id"]
        return normalize_exchange_id(value)

    def save(self, commit: bool = True) -> Exchange:
        # A fee a person set is theirs: sync_fees keeps it until --force.
        if "taker_fee_bps" in self.changed_data:
            self.instance.fee_set_by_admin = True
        exchange: Exchange = super().save(commit)
        return exchange


@admin.register(Exchange)
class ExchangeAdmin(admin.ModelAdmin):
    form = ExchangeForm
    list_display = ("id", "name", "enabled", "taker_fee_bps", "fee_set_by_admin", "updated_at")
    list_editable = ("enabled", "taker_fee_bps")
    list_filter = ("enabled", "fee_set_by_admin")
    search_fields = ("id", "name")


class WithdrawalFeeForm(forms.ModelForm):
    class Meta:
        model = WithdrawalFee
        fields = ("exchange", "asset", "network", "fee", "withdrawals_enabled", "deposits_enabled")

    def clean_asset(self) -> str:
        value = normalize_asset(self.cleaned_data["asset"])
        known = {
            part for symbol in WatchedSymbol.objects.values_list("symbol", flat=True) for part in symbol.split("-")
        }
        if known and value not in known:
            raise forms.ValidationError(
                f"Unknown asset {value}: it is in no watched symbol. Known assets: {', '.join(sorted(known))}."
            )
        return value

    def clean_network(self) -> str:
        value: str = self.cleaned_data.get("network", "")
        return value.strip().upper()

    def save(self, commit: bool = True) -> WithdrawalFee:
        # A fee a person set is theirs: sync_fees keeps it until --force.
        self.instance.set_by_admin = True
        fee: WithdrawalFee = super().save(commit)
        return fee


@admin.register(WithdrawalFee)
class WithdrawalFeeAdmin(admin.ModelAdmin):
    form = WithdrawalFeeForm
    list_display = ("exchange", "asset", "network", "fee", "withdrawals_enabled", "deposits_enabled", "updated_at")
    list_filter = ("exchange", "withdrawals_enabled", "deposits_enabled", "set_by_admin")
    search_fields = ("asset", "network")


class WatchedSymbolForm(forms.ModelForm):
    class Meta:
        model = WatchedSymbol
        fields = ("symbol", "enabled")

    def clean_symbol(self) -> str:
        return normalize_symbol(self.cleaned_data["symbol"])


@admin.register(WatchedSymbol)
class WatchedSymbolAdmin(admin.ModelAdmin):
    form = WatchedSymbolForm
    list_display = ("symbol", "enabled", "created_at")
    list_editable = ("enabled",)
    list_filter = ("enabled",)
    search_fields = ("symbol",)

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        return super().get_search_results(request, queryset, search_term.upper())
