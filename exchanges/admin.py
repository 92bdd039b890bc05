"""Admin for exchanges, fees and the watchlist. The forms hold the rules (the REST API
validates and saves through them too, so both say the same)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, F, Max, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from kernel.ids import normalize_asset, normalize_exchange_id, normalize_symbol

from .credentials import CredentialKeyError, cipher
from .models import Exchange, ExchangeCredential, WatchedSymbol, WithdrawalFee


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


class WithdrawalFeeForm(forms.ModelForm):
    class Meta:
        model = WithdrawalFee
        fields = ("exchange", "asset", "network", "fee", "withdrawals_enabled", "deposits_enabled", "contract")

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

    def clean_contract(self) -> str:
        value: str = self.cleaned_data.get("contract", "")
        return value.strip()

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("contract") and not cleaned.get("network"):
            self.add_error("contract", "A contract belongs to a network: name the network too.")
        return cleaned

    def save(self, commit: bool = True) -> WithdrawalFee:
        # A fee a person set is theirs: sync_fees keeps it until --force.
        self.instance.set_by_admin = True
        fee: WithdrawalFee = super().save(commit)
        return fee


@admin.register(WithdrawalFee)
class WithdrawalFeeAdmin(admin.ModelAdmin):
    form = WithdrawalFeeForm
    list_display = (
        "exchange", "asset", "network", "fee", "withdrawals_enabled", "deposits_enabled", "contract", "set_by",
        "updated_at",
    )  # fmt: skip
    list_filter = ("exchange", "withdrawals_enabled", "deposits_enabled", "set_by_admin")
    search_fields = ("asset", "network", "contract")

    @admin.display(description="by", ordering="set_by_admin")
    def set_by(self, obj: WithdrawalFee) -> str:
        # An admin's row is kept by sync_fees (until --force); a sync row follows the exchange.
        return "admin" if obj.set_by_admin else "sync"


def _age(elapsed: timedelta) -> str:
    """A duration as people read an age: "just now", "12 min ago", "3 h ago", "5 d ago"."""
    seconds = max(0, int(elapsed.total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


@admin.action(description="Enable selected")
def enable(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    modeladmin.message_user(request, f"{queryset.update(enabled=True)} enabled.")


@admin.action(description="Disable selected")
def disable(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    modeladmin.message_user(request, f"{queryset.update(enabled=False)} disabled.")


class WithdrawalFeeInline(admin.TabularInline):
    """An exchange's withdrawal fees on its own page (the form holds the same rules)."""

    model = WithdrawalFee
    form = WithdrawalFeeForm
    fields = (
        "asset", "network", "fee", "withdrawals_enabled", "deposits_enabled", "contract", "set_by_admin", "updated_at",
    )  # fmt: skip
    readonly_fields = ("set_by_admin", "updated_at")
    extra = 0


@admin.register(Exchange)
class ExchangeAdmin(admin.ModelAdmin):
    form = ExchangeForm
    list_display = (
        "id", "name", "enabled", "taker_fee_bps", "fee_set_by_admin", "withdrawal_fees", "network_data", "updated_at",
    )  # fmt: skip
    list_editable = ("enabled", "taker_fee_bps")
    list_filter = ("enabled", "fee_set_by_admin")
    search_fields = ("id", "name")
    actions = [enable, disable]
    inlines = [WithdrawalFeeInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Exchange]:
        updated = "withdrawal_fees__updated_at"
        return (
            super()
            .get_queryset(request)
            .annotate(
                fee_count=Count("withdrawal_fees"),
                networks_updated_at=Max(updated),
                networks_synced_at=Max(updated, filter=Q(withdrawal_fees__set_by_admin=False)),
            )
        )

    @admin.display(description="withdrawal fees", ordering="fee_count")
    def withdrawal_fees(self, obj: Exchange) -> str:
        count = getattr(obj, "fee_count", 0)
        # Without them every spatial opportunity bought here counts the withdrawal as free.
        return str(count) if count else "⚠ none: run sync_fees or add them (withdrawals counted as free)"

    # "never" sorts as the oldest.
    @admin.display(description="network data", ordering=F("networks_updated_at").asc(nulls_first=True))
    def network_data(self, obj: Exchange) -> str | SafeString:
        """How old the newest withdrawal-fee row is, and who wrote it (sync_fees or an admin)."""
        newest: datetime | None = getattr(obj, "networks_updated_at", None)
        if newest is None:
            return "never"
        by = "sync" if newest == getattr(obj, "networks_synced_at", None) else "admin"
        when = timezone.localtime(newest).strftime("%Y-%m-%d %H:%M:%S %Z")
        return format_html('<span title="{}">{} ({})</span>', when, _age(timezone.now() - newest), by)


class WatchedSymbolForm(forms.ModelForm):
    class Meta:
        model = WatchedSymbol
        fields = ("symbol", "enabled")

    def clean_symbol(self) -> str:
        return normalize_symbol(self.cleaned_data["symbol"])


@admin.register(WatchedSymbol)
class WatchedSymbolAdmin(admin.ModelAdmin):
    form = WatchedSymbolForm
    actions = [enable, disable]
    list_display = ("symbol", "enabled", "created_at")
    list_editable = ("enabled",)
    list_filter = ("enabled",)
    search_fields = ("symbol",)

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        return super().get_search_results(request, queryset, search_term.upper())


class ExchangeCredentialForm(forms.ModelForm):
    """Write-only secrets: typed in, encrypted on save, never shown again. Left blank on a
    change, a secret keeps its stored value."""

    api_key = forms.CharField(required=False, max_length=512, widget=forms.PasswordInput(render_value=False))
    secret = forms.CharField(required=False, max_length=512, widget=forms.PasswordInput(render_value=False))
    password = forms.CharField(
        label="Passphrase",
        required=False,
        max_length=512,
        widget=forms.PasswordInput(render_value=False),
        help_text="Only for exchanges that issue one with the key (okx, kucoin, bitget...).",
    )

    class Meta:
        model = ExchangeCredential
        fields = ("exchange",)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        adding = self.instance._state.adding
        if adding and not (data.get("api_key") and data.get("secret")):
            raise forms.ValidationError("Enter both the API key and its secret.")
        given = [data.get(name) for name in ("api_key", "secret", "password")]
        try:
            cipher()
            if not adding and any(given) and not all(given[:2]):
                self.instance.decrypted()  # the values left blank are kept: they must decrypt
        except CredentialKeyError as exc:
            raise forms.ValidationError(f"Cannot store credentials: {exc}") from None
        return data

    def save(self, commit: bool = True) -> ExchangeCredential:
        credential: ExchangeCredential = super().save(commit=False)
        data = self.cleaned_data
        if credential._state.adding:
            credential.store(data["api_key"], data["secret"], data.get("password") or "")
        elif data.get("api_key") or data.get("secret") or data.get("password"):
            current = credential.decrypted()
            credential.store(
                data.get("api_key") or current.api_key,
                data.get("secret") or current.secret,
                data.get("password") or current.password,
            )
        if commit:
            credential.save()
        return credential


@admin.register(ExchangeCredential)
class ExchangeCredentialAdmin(admin.ModelAdmin):
    form = ExchangeCredentialForm
    list_display = ("exchange", "masked_key", "has_passphrase", "updated_at")
    readonly_fields = ("masked_key", "updated_at")

    @admin.display(description="API key")
    def masked_key(self, obj: ExchangeCredential) -> str:
        return f"••••{obj.api_key_hint}" if obj.api_key_hint else "-"

    @admin.display(description="passphrase", boolean=True)
    def has_passphrase(self, obj: ExchangeCredential) -> bool:
        return bool(obj.password_encrypted)


from . import coverage_admin  # noqa: E402, F401  (coverage and discovery, in a module of their own)
