from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from .models import Exchange, WatchedSymbol, WithdrawalFee


class ExchangeForm(forms.ModelForm):
    class Meta:
        model = Exchange
        fields = ("id", "name", "enabled", "taker_fee_bps", "fee_set_by_admin")

    def clean_id(self) -> str:
        value: str = self.cleaned_data["id"]
        return value.strip().lower()


@admin.register(Exchange)
class ExchangeAdmin(admin.ModelAdmin):
    form = ExchangeForm
    list_display = ("id", "name", "enabled", "taker_fee_bps", "fee_set_by_admin", "updated_at")
    list_editable = ("enabled", "taker_fee_bps")
    list_filter = ("enabled", "fee_set_by_admin")
    search_fields = ("id", "name")

    def save_model(self, request: HttpRequest, obj: Exchange, form: forms.ModelForm, change: bool) -> None:
        if "taker_fee_bps" in form.changed_data:
            obj.fee_set_by_admin = True
        super().save_model(request, obj, form, change)


class WithdrawalFeeForm(forms.ModelForm):
    class Meta:
        model = WithdrawalFee
        fields = ("exchange", "asset", "network", "fee", "withdrawals_enabled", "deposits_enabled")

    def clean_asset(self) -> str:
        value: str = self.cleaned_data["asset"].strip().upper()
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


@admin.register(WithdrawalFee)
class WithdrawalFeeAdmin(admin.ModelAdmin):
    form = WithdrawalFeeForm
    list_display = ("exchange", "asset", "network", "fee", "withdrawals_enabled", "deposits_enabled", "updated_at")
    list_filter = ("exchange", "withdrawals_enabled", "deposits_enabled", "set_by_admin")
    search_fields = ("asset", "network")

    def save_model(self, request: HttpRequest, obj: WithdrawalFee, form: forms.ModelForm, change: bool) -> None:
        obj.set_by_admin = True
        super().save_model(request, obj, form, change)


class WatchedSymbolForm(forms.ModelForm):
    class Meta:
        model = WatchedSymbol
        fields = ("symbol", "enabled")

    def clean_symbol(self) -> str:
        value: str = self.cleaned_data["symbol"]
        return value.strip().upper().replace("/", "-")


@admin.register(WatchedSymbol)
class WatchedSymbolAdmin(admin.ModelAdmin):
    form = WatchedSymbolForm
    list_display = ("symbol", "enabled", "created_at")
    list_editable = ("enabled",)
    list_filter = ("enabled",)
    search_fields = ("symbol",)

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        return super().get_search_results(request, queryset, search_term.upper())
