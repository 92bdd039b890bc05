"""REST representations. Writes are validated by the very forms admin uses, so an API client
and an admin get the same rules and the same messages."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from django import forms
from django.forms.models import model_to_dict
from rest_framework import serializers

from arbitrage.admin import ScannerSettingsForm
from arbitrage.audit import LATEST_FIELDS
from arbitrage.filters import HELP, RISK_CHOICES, TYPES
from arbitrage.models import Episode, ScannerSettings, ScanRecord
from exchanges.admin import ExchangeForm, WithdrawalFeeForm
from exchanges.models import Exchange, WithdrawalFee
from kernel.book import BOOK_STATES

# --- the live feed (docs/design.md, "Canonical model" and "Contracts") ----------------------


class BookEvidenceSerializer(serializers.Serializer):
    exchange = serializers.CharField()
    symbol = serializers.CharField()
    ts_event = serializers.IntegerField()
    ts_ingest = serializers.IntegerField()
    lag_ms = serializers.IntegerField()
    seq_id = serializers.JSONField(allow_null=True, required=False)
    checksum_ok = serializers.JSONField(allow_null=True, required=False)


class LiveOpportunitySerializer(serializers.Serializer):
    """One opportunity of the latest scan, as the engine reported it."""

    type = serializers.ChoiceField(choices=TYPES)
    symbol = serializers.CharField()
    buy_exchange = serializers.CharField()
    sell_exchange = serializers.CharField()
    buy_vwap = serializers.FloatField()
    sell_vwap = serializers.FloatField()
    gross_edge_pct = serializers.FloatField()
    net_edge_pct = serializers.FloatField()
    expected_profit_usdt = serializers.FloatField()
    available_qty = serializers.FloatField()
    risk_flag = serializers.CharField()
    ts_detected = serializers.IntegerField(help_text="ms since epoch")
    fees_pct = serializers.FloatField()
    slippage_pct = serializers.FloatField()
    withdraw_pct = serializers.FloatField()
    optimal_qty = serializers.FloatField()
    optimal_profit_usdt = serializers.FloatField()
    exchange = serializers.CharField(allow_null=True, required=False, help_text="triangular only")
    path = serializers.ListField(child=serializers.CharField(), allow_null=True, required=False)
    leg_prices = serializers.ListField(child=serializers.FloatField(), allow_null=True, required=False)
    risk_flags = serializers.ListField(child=serializers.CharField(), required=False)
    evidence = BookEvidenceSerializer(many=True, required=False)


class CurrentScanSerializer(serializers.Serializer):
    ts = serializers.IntegerField(allow_null=True, help_text="the scan's time, ms since epoch; null before any scan")
    age_ms = serializers.IntegerField(allow_null=True, help_text="how old the scan is now")
    count = serializers.IntegerField(help_text="items after filtering")
    total = serializers.IntegerField(help_text="items in the scan")
    filters = serializers.DictField(help_text="the filters applied")
    items = LiveOpportunitySerializer(many=True)


class FeedFilterQuerySerializer(serializers.Serializer):
    """Query parameters of the current opportunities (documentation; parsing is
    arbitrage.filters.OpportunityFilter)."""

    symbol = serializers.CharField(required=False, help_text=HELP["symbol"])
    exchange = serializers.CharField(required=False, help_text=HELP["exchange"])
    type = serializers.ChoiceField(choices=TYPES, required=False, help_text=HELP["type"])
    min_net_edge = serializers.FloatField(required=False, help_text=HELP["min_net_edge"])
    risk = serializers.ChoiceField(choices=RISK_CHOICES, required=False, help_text=HELP["risk"])


# --- episodes and scans ---------------------------------------------------------------------


class EpisodeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Episode
        fields = (
            "id",
            "key",
            "type",
            "symbol",
            "buy_exchange",
            "sell_exchange",
            "exchange",
            "path",
            "is_open",
            "first_seen",
            "last_seen",
            "closed_at",
            "times_seen",
            "peak_net_edge_pct",
            *LATEST_FIELDS,
            "details",
            "settings_snapshot",
        )
        read_only_fields = fields


class ScanRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScanRecord
        fields = (
            "id",
            "started_at",
            "duration_ms",
            "books_total",
            "books_used",
            "books_stale",
            "books_unhealthy",
            "books_future",
            "books_corrupt",
            "opportunities",
            "degraded",
            "degraded_reason",
            "errors",
            "shards",
            "status",
            "gap_before_ms",
        )
        read_only_fields = fields


# --- book health ----------------------------------------------------------------------------


class BookHealthSerializer(serializers.Serializer):
    exchange = serializers.CharField()
    symbol = serializers.CharField()
    state = serializers.ChoiceField(
        choices=BOOK_STATES, help_text="future: stamped ahead of the server's clock, so not trusted"
    )
    lag_ms = serializers.IntegerField(help_text="ts_ingest - ts_event")
    last_update = serializers.IntegerField(help_text="ts_ingest, ms since epoch")
    age_ms = serializers.IntegerField(help_text="now - ts_ingest")
    seq_id = serializers.JSONField(allow_null=True)
    checksum_ok = serializers.JSONField(allow_null=True)


class ExchangeHealthSerializer(serializers.Serializer):
    exchange = serializers.CharField()
    fresh = serializers.IntegerField()
    stale = serializers.IntegerField()
    unhealthy = serializers.IntegerField()
    future = serializers.IntegerField(help_text="books stamped ahead of the server's clock")
    last_update = serializers.IntegerField(allow_null=True)
    max_lag_ms = serializers.IntegerField(allow_null=True)
    networks_updated_at = serializers.IntegerField(
        allow_null=True,
        help_text="when this exchange's withdrawal network data (networks and fees, from sync_fees or an "
        "admin) last changed: the newest withdrawal-fee row's updated_at, ms since epoch; null: no row",
    )


class CorruptBookSerializer(serializers.Serializer):
    key = serializers.CharField()
    error = serializers.CharField()


class FeedStatusSerializer(serializers.Serializer):
    last_scan_ts = serializers.IntegerField(allow_null=True)
    scan_interval_sec = serializers.FloatField()
    degraded = serializers.BooleanField(help_text="the last scan could use no book, or fewer than it could not")
    degraded_reason = serializers.CharField(allow_blank=True)
    degraded_since = serializers.IntegerField(allow_null=True, help_text="first scan of the degraded streak, ms")


class HealthReportSerializer(serializers.Serializer):
    ts = serializers.IntegerField(help_text="server time of this report, ms since epoch")
    stale_after_sec = serializers.FloatField()
    feed = FeedStatusSerializer()
    exchanges = ExchangeHealthSerializer(many=True)
    books = BookHealthSerializer(many=True)
    corrupt = CorruptBookSerializer(many=True)


class HealthQuerySerializer(serializers.Serializer):
    exchange = serializers.CharField(required=False)
    symbol = serializers.CharField(required=False)
    state = serializers.ChoiceField(choices=BOOK_STATES, required=False)


# --- configuration: validated by the admin forms --------------------------------------------


class AdminFormValidatedSerializer(serializers.ModelSerializer):
    """Runs the admin form of the model over the merged result of a write (the instance's
    values overlaid with the request's) and saves through it, so the API enforces exactly
    admin's rules (model validators, cross-field checks, normalisation, what a person's
    edit marks) without a second copy of them."""

    form_class: ClassVar[type[forms.ModelForm]]
    _form: forms.ModelForm | None = None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        fields = list(self.form_class._meta.fields or ())
        # A new object starts from the model's defaults, as a blank admin form does.
        base = self.instance if self.instance is not None else self.form_class._meta.model()
        data: dict[str, Any] = model_to_dict(base, fields=fields)
        data.update({name: value for name, value in attrs.items() if name in fields})
        # The form writes into the instance it checks: give it a copy, the view saves.
        form = self.form_class(data=data, instance=copy.copy(self.instance))
        if not form.is_valid():
            raise serializers.ValidationError(
                {
                    ("non_field_errors" if name == "__all__" else name): [str(message) for message in messages]
                    for name, messages in form.errors.items()
                }
            )
        self._form = form
        return {name: form.cleaned_data.get(name, value) for name, value in attrs.items()}

    def create(self, validated_data: dict[str, Any]) -> Any:
        return self._saved_form()

    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        return self._saved_form()

    def _saved_form(self) -> Any:
        if self._form is None:  # validate() always runs before save() in DRF
            raise RuntimeError("save() before validation")
        return self._form.save()


class ScannerSettingsSerializer(AdminFormValidatedSerializer):
    form_class = ScannerSettingsForm

    class Meta:
        model = ScannerSettings
        fields = (*ScannerSettingsForm.Meta.fields, "updated_at")
        read_only_fields = ("updated_at",)


class ExchangeSerializer(AdminFormValidatedSerializer):
    form_class = ExchangeForm
    # Declared plainly: the form normalises (strips, lower-cases) before the model's checks.
    id = serializers.CharField(max_length=32)

    class Meta:
        model = Exchange
        fields = ("id", "name", "enabled", "taker_fee_bps", "fee_set_by_admin", "updated_at")
        read_only_fields = ("fee_set_by_admin", "updated_at")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None:
            # The id is the primary key: renaming an exchange would orphan its books and fees.
            fields["id"].read_only = True
        return fields


class WithdrawalFeeSerializer(AdminFormValidatedSerializer):
    form_class = WithdrawalFeeForm
    asset = serializers.CharField(max_length=15, help_text="e.g. BTC; must be in a watched symbol")
    network = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")

    class Meta:
        model = WithdrawalFee
        fields = (
            "id",
            "exchange",
            "asset",
            "network",
            "fee",
            "withdrawals_enabled",
            "deposits_enabled",
            "contract",
            "set_by_admin",
            "updated_at",
        )
        read_only_fields = ("set_by_admin", "updated_at")
        validators: list[Any] = []  # uniqueness is the form's check, after it normalises
