"""Scanner settings (one row) and the audit of opportunity episodes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from arbitrage.engine.types import ScanParams


class ScannerSettings(models.Model):
    """The thresholds of every scan. A single row (pk=1), created with defaults on first use."""

    target_notional_usdt = models.DecimalField(
        "target notional (USDT)",
        max_digits=14,
        decimal_places=2,
        default=Decimal("1000"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("100000000"))],
    )
    min_net_edge_pct = models.DecimalField(
        "min net edge (%)",
        max_digits=8,
        decimal_places=4,
        default=Decimal("0.1"),
        validators=[MinValueValidator(Decimal("-5")), MaxValueValidator(Decimal("100"))],
        help_text="Opportunities below this net edge are not reported.",
    )
    slippage_bps = models.DecimalField(
        "slippage (bps)",
        max_digits=8,
        decimal_places=3,
        default=Decimal("5"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000"))],
    )
    stale_after_sec = models.DecimalField(
        "stale after (s)",
        max_digits=8,
        decimal_places=2,
        default=Decimal("10"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("3600"))],
        help_text="Books not updated for this long are left out of the scan.",
    )
    extreme_edge_pct = models.DecimalField(
        "extreme edge (%)",
        max_digits=8,
        decimal_places=3,
        default=Decimal("5"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1000"))],
        help_text="Net edges above this are flagged extreme_edge: more likely bad data than money.",
    )
    high_lag_ms = models.PositiveIntegerField(
        "high lag (ms)",
        default=2000,
        validators=[MinValueValidator(1), MaxValueValidator(600_000)],
        help_text="Books lagging the exchange by more than this are flagged high_lag (never dropped).",
    )
    scan_interval_sec = models.DecimalField(
        "scan interval (s)",
        max_digits=6,
        decimal_places=2,
        default=Decimal("5"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("3600"))],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "scanner settings"
        verbose_name_plural = "scanner settings"

    def __str__(self) -> str:
        return "Scanner settings"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> ScannerSettings:
        """The row to edit, created with the defaults if there is none yet."""
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    @classmethod
    def current(cls) -> ScannerSettings:
        """The settings in force, read-only: the saved row, or the defaults until an admin
        saves one (a scan or a page view never writes the row)."""
        return cls.objects.filter(pk=1).first() or cls()

    def to_params(self) -> ScanParams:
        return ScanParams(
            target_notional_usdt=float(self.target_notional_usdt),
            min_net_edge_pct=float(self.min_net_edge_pct),
            slippage_bps=float(self.slippage_bps),
            stale_after_sec=float(self.stale_after_sec),
            extreme_edge_pct=float(self.extreme_edge_pct),
            high_lag_ms=int(self.high_lag_ms),
        )


class Episode(models.Model):
    """An opportunity episode: one opportunity from the scan where it first appears to the
    one where it disappears (arbitrage.audit folds every scan into them). `key` is its
    identity (Opportunity.episode_key: type, symbol, buy and sell exchange, or path)."""

    TYPE_CHOICES = [("spatial", "spatial"), ("triangular", "triangular")]

    key = models.CharField(max_length=200, db_index=True)
    type = models.CharField(max_length=12, choices=TYPE_CHOICES)
    symbol = models.CharField(max_length=64, db_index=True)
    buy_exchange = models.CharField(max_length=32, db_index=True)
    sell_exchange = models.CharField(max_length=32, db_index=True)
    exchange = models.CharField(max_length=32, blank=True, default="")
    path = models.JSONField(null=True, blank=True)

    is_open = models.BooleanField(default=True, db_index=True)
    first_seen = models.DateTimeField(db_index=True)
    last_seen = models.DateTimeField(db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    times_seen = models.PositiveIntegerField(default=1)
    peak_net_edge_pct = models.FloatField()

    # The latest values (docs/design.md, "Canonical model").
    buy_vwap = models.FloatField()
    sell_vwap = models.FloatField()
    gross_edge_pct = models.FloatField()
    net_edge_pct = models.FloatField(db_index=True)
    expected_profit_usdt = models.FloatField()
    available_qty = models.FloatField()
    fees_pct = models.FloatField()
    slippage_pct = models.FloatField()
    withdraw_pct = models.FloatField()
    optimal_qty = models.FloatField()
    optimal_profit_usdt = models.FloatField()
    risk_flag = models.CharField(max_length=32, db_index=True)
    ts_detected = models.BigIntegerField(help_text="ms since epoch, of the latest scan that saw it")
    details = models.JSONField(default=dict, blank=True, help_text="leg prices, risk flags, book evidence")
    settings_snapshot = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "opportunity episode"
        ordering = ["-last_seen"]
        constraints = [
            # At most one open episode per identity; closed ones are history.
            models.UniqueConstraint(fields=["key"], condition=models.Q(is_open=True), name="uniq_open_episode"),
        ]

    def __str__(self) -> str:
        return f"{self.key} net={self.net_edge_pct:.4f}%"


class ScanRecord(models.Model):
    """One scan, as the audit applied it. `id` is the scan's time in ms since the epoch:
    scans run one at a time, so it is unique and orders them; a retried delivery of the
    same scan finds its record and changes nothing."""

    class Status(models.TextChoices):
        APPLIED = "applied", "applied"
        # Reached the audit after a newer scan: recorded, but its episodes are left alone.
        LATE = "late", "late (after a newer scan)"

    id = models.BigIntegerField(primary_key=True, help_text="the scan's time, ms since the epoch")
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.FloatField()
    books_total = models.PositiveIntegerField()
    books_used = models.PositiveIntegerField()
    books_stale = models.PositiveIntegerField(default=0)
    books_unhealthy = models.PositiveIntegerField(default=0)
    books_future = models.PositiveIntegerField(default=0)
    books_corrupt = models.PositiveIntegerField(default=0)
    opportunities = models.PositiveIntegerField()
    degraded = models.BooleanField(default=False, db_index=True)
    degraded_reason = models.CharField(max_length=200, blank=True, default="")
    errors = models.JSONField(default=list, blank=True)
    shards = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.APPLIED)
    gap_before_ms = models.BigIntegerField(
        null=True, blank=True, help_text="time since the scan recorded before it: a gap shows here"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"scan {self.id} ({self.status}{', degraded' if self.degraded else ''})"


class AuditCursor(models.Model):
    """The newest scan the audit applied to the episodes (one row). Applying a scan locks
    it, so two workers applying at once take turns, and an older scan never moves an
    episode backwards."""

    last_scan_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit applied up to scan {self.last_scan_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)
