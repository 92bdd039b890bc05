"""Telegram subscribers and what each was sent (see the Telegram issue)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


def validate_name_list(value: Any) -> None:
    """Filters hold a JSON list of short names; anything else would silently match nothing."""
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value):
        raise ValidationError('Enter a list of names, e.g. ["BTC-USDT", "ETH-USDT"] (empty = all).')


class Subscriber(models.Model):
    """One Telegram chat that asked for opportunities, with its filters and delivery mode.

    Empty `symbols` or `exchanges` mean "all"; symbols are canonical `BASE-QUOTE`,
    exchanges lower-case ids, both as the scanner writes them."""

    class Mode(models.TextChoices):
        DIGEST = "digest", "digest"
        INSTANT = "instant", "instant"
        SILENT = "silent", "silent"
        OFF = "off", "off"

    class TypeFilter(models.TextChoices):
        ALL = "all", "all"
        SPATIAL = "spatial", "spatial"
        TRIANGULAR = "triangular", "triangular"

    chat_id = models.BigIntegerField(unique=True)
    username = models.CharField(max_length=64, blank=True, default="")
    is_active = models.BooleanField(default=True, db_index=True, help_text="False after /stop or a blocked bot.")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.DIGEST)
    min_net_edge_pct = models.DecimalField(
        "min net edge (%)",
        max_digits=8,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("-5")), MaxValueValidator(Decimal("1000"))],
    )
    symbols = models.JSONField(
        default=list, blank=True, validators=[validate_name_list], help_text='e.g. ["BTC-USDT"]; empty = all'
    )
    exchanges = models.JSONField(
        default=list, blank=True, validators=[validate_name_list], help_text='e.g. ["binance", "okx"]; empty = all'
    )
    type_filter = models.CharField("type", max_length=12, choices=TypeFilter.choices, default=TypeFilter.ALL)
    only_ok = models.BooleanField("only risk ok", default=True, help_text="Leave out flagged opportunities.")
    last_digest_at = models.DateTimeField(null=True, blank=True)
    deactivated_reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        name = f"@{self.username}" if self.username else str(self.chat_id)
        return f"{name} ({self.mode}{'' if self.is_active else ', inactive'})"


class Delivery(models.Model):
    """An episode at the edge a subscriber was told about. Written *before* the message goes
    out, so a run that dies mid-send leaves a record and the next run never repeats it (a
    lost message is better than a duplicate); removed again when the send definitely failed."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    opportunity = models.ForeignKey("arbitrage.Opportunity", on_delete=models.CASCADE, related_name="+")
    net_edge_pct = models.FloatField(help_text="the edge the message showed")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="empty: the send never confirmed")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "opportunity", "net_edge_pct"], name="uniq_delivery_per_edge"
            ),
        ]
        indexes = [models.Index(fields=["subscriber", "opportunity"])]

    def __str__(self) -> str:
        return f"{self.subscriber_id} <- {self.opportunity_id} at {self.net_edge_pct:.4f}%"
