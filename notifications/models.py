"""Telegram subscribers and what each was sent (see the Telegram issue)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from arbitrage.filters import FilterError, OpportunityFilter

log = logging.getLogger(__name__)

EXAMPLE_FILTERS = '{"symbol": "BTC,ETH-USDT", "exchange": "binance,okx", "min_net_edge": 0.2, "risk": "ok"}'


def default_filters() -> dict[str, Any]:
    """What a new subscriber hears about: opportunities with no risk flag."""
    return {"risk": "ok"}


def validate_filters(value: Any) -> None:
    """A subscriber's filters are the shared filter language's (arbitrage.filters)."""
    try:
        OpportunityFilter.parse(value)
    except FilterError as exc:
        raise ValidationError(f"Invalid filters: {exc}. Example: {EXAMPLE_FILTERS}") from None


class Subscriber(models.Model):
    """One Telegram chat that asked for opportunities, with its filters and delivery mode.

    `filters` is a mapping of the shared filter language (arbitrage.filters: symbol,
    exchange, type, min_net_edge, risk), the same words the WebSocket feed and the REST
    API take; an absent word does not filter."""

    class Mode(models.TextChoices):
        DIGEST = "digest", "digest"
        INSTANT = "instant", "instant"
        SILENT = "silent", "silent"
        OFF = "off", "off"

    chat_id = models.BigIntegerField(unique=True)
    username = models.CharField(max_length=64, blank=True, default="")
    is_active = models.BooleanField(default=True, db_index=True, help_text="False after /stop or a blocked bot.")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.DIGEST)
    filters = models.JSONField(
        default=default_filters,
        blank=True,
        validators=[validate_filters],
        help_text=f"The shared filter language, e.g. {EXAMPLE_FILTERS}; {{}} = everything.",
    )
    last_digest_at = models.DateTimeField(null=True, blank=True)
    # A run serving this subscriber now (notifications.runner.claim), and until when.
    send_claim = models.CharField(max_length=32, blank=True, default="", editable=False)
    sending_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The degraded streak (its first scan, ms) this subscriber was told about; empty: none.
    degraded_notice_since = models.BigIntegerField(null=True, blank=True, editable=False)
    deactivated_reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        name = f"@{self.username}" if self.username else str(self.chat_id)
        return f"{name} ({self.mode}{'' if self.is_active else ', inactive'})"

    def opportunity_filter(self) -> OpportunityFilter:
        """The subscriber's filters, parsed. A row written around admin's checks that does
        not parse gets the defaults (and a log line), not an exception in every run."""
        try:
            return OpportunityFilter.parse(self.filters)
        except FilterError as exc:
            log.warning(
                "subscriber filters invalid; using the defaults", extra={"chat_id": self.chat_id, "error": str(exc)}
            )
            return OpportunityFilter.parse(default_filters())


class Delivery(models.Model):
    """An episode at the edge a subscriber was told about. Written *before* the message goes
    out, so a run that dies mid-send leaves a record and the next run never repeats it (a
    lost message is better than a duplicate); removed again when the send definitely failed."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    episode = models.ForeignKey("arbitrage.Episode", on_delete=models.CASCADE, related_name="+")
    net_edge_pct = models.FloatField(help_text="the edge the message showed")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="empty: the send never confirmed")

    class Meta:
        verbose_name = "Telegram delivery"
        verbose_name_plural = "Telegram deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "episode", "net_edge_pct"], name="uniq_delivery_per_edge"),
        ]
        indexes = [models.Index(fields=["subscriber", "episode"])]

    def __str__(self) -> str:
        return f"{self.subscriber_id} <- {self.episode_id} at {self.net_edge_pct:.4f}%"
