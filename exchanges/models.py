"""Exchanges, their fees and the watchlist: what admins configure."""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

ASSET_RE = re.compile(r"^[A-Z0-9]{1,15}$")
EXCHANGE_ID_RE = re.compile(r"^[a-z0-9_]{2,32}$")

# The 14 exchanges of the product (DESIGN.md, issue "Live market data").
SUPPORTED_EXCHANGES: dict[str, str] = {
    "binance": "Binance",
    "okx": "OKX",
    "bybit": "Bybit",
    "coinbase": "Coinbase",
    "kraken": "Kraken",
    "kucoin": "KuCoin",
    "gate": "Gate",
    "htx": "HTX",
    "bitget": "Bitget",
    "mexc": "MEXC",
    "bitfinex": "Bitfinex",
    "bitstamp": "Bitstamp",
    "gemini": "Gemini",
    "cryptocom": "Crypto.com",
}

validate_asset = RegexValidator(ASSET_RE, "Use an upper-case asset code of letters and digits, e.g. BTC.")
validate_exchange_id = RegexValidator(
    EXCHANGE_ID_RE, "Use a lower-case exchange id of letters, digits or _, e.g. binance."
)


def validate_symbol(value: str) -> None:
    parts = value.split("-")
    if len(parts) != 2 or not all(ASSET_RE.match(p) for p in parts):
        raise ValidationError(f"{value!r} is not a symbol: use BASE-QUOTE in upper case, e.g. BTC-USDT.")
    if parts[0] == parts[1]:
        raise ValidationError(f"{value!r}: base and quote must differ.")


class Exchange(models.Model):
    id = models.CharField(primary_key=True, max_length=32, validators=[validate_exchange_id])
    name = models.CharField(max_length=64)
    enabled = models.BooleanField(default=True)
    taker_fee_bps = models.DecimalField(
        "taker fee (bps)",
        max_digits=7,
        decimal_places=3,
        default=Decimal("10"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000"))],
        help_text="Taker fee in basis points (10 = 0.10 %). Fractions such as 7.5 are allowed.",
    )
    fee_set_by_admin = models.BooleanField(
        default=False,
        help_text="Set when an admin edits the fee; sync_fees leaves such values alone.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or self.id


class WithdrawalFee(models.Model):
    exchange = models.ForeignKey(Exchange, on_delete=models.CASCADE, related_name="withdrawal_fees")
    asset = models.CharField(max_length=15, validators=[validate_asset])
    network = models.CharField(max_length=32, default="", blank=True, help_text="e.g. ERC20, TRC20, BTC.")
    fee = models.DecimalField(
        "fee (asset units)",
        max_digits=28,
        decimal_places=12,
        validators=[MinValueValidator(Decimal("0"))],
    )
    withdrawals_enabled = models.BooleanField(default=True)
    deposits_enabled = models.BooleanField(default=True)
    set_by_admin = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange_id", "asset", "network"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "asset", "network"], name="uniq_withdrawal_fee"),
        ]

    def __str__(self) -> str:
        network = f" ({self.network})" if self.network else ""
        return f"{self.exchange_id} {self.asset}{network}: {self.fee}"


class WatchedSymbol(models.Model):
    symbol = models.CharField(max_length=31, unique=True, validators=[validate_symbol])
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol

    @property
    def base(self) -> str:
        return self.symbol.split("-")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("-")[1]
