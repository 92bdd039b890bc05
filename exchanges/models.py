"""Exchanges, their fees and the watchlist: what admins configure (the exchanges
themselves are seeded from exchanges.registry)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from exchanges.credentials import ApiCredentials, decrypt, encrypt, rotate
from kernel.ids import (
    ASSET_HELP,
    ASSET_MAX_CHARS,
    ASSET_RE,
    EXCHANGE_ID_HELP,
    EXCHANGE_ID_MAX_CHARS,
    EXCHANGE_ID_RE,
    SYMBOL_HELP,
    SYMBOL_MAX_CHARS,
    is_symbol,
    split_symbol,
)
from kernel.text import brief

validate_asset = RegexValidator(ASSET_RE, f"Use {ASSET_HELP}.")
validate_exchange_id = RegexValidator(EXCHANGE_ID_RE, f"Use {EXCHANGE_ID_HELP}.")
# Addresses differ per chain (0x hex, base58, bech32, ibc/...): one token, no spaces.
validate_contract = RegexValidator(
    r"^[A-Za-z0-9:/._-]+$", "Use the contract address as the chain writes it: letters, digits and : / . _ - only."
)


def validate_symbol(value: str) -> None:
    if not is_symbol(value):
        raise ValidationError(f"{brief(value)} is not a symbol: use {SYMBOL_HELP}.")
    base, quote = split_symbol(value)
    if base == quote:
        raise ValidationError(f"{brief(value)}: base and quote must differ.")


class Exchange(models.Model):
    id = models.CharField(primary_key=True, max_length=EXCHANGE_ID_MAX_CHARS, validators=[validate_exchange_id])
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
    asset = models.CharField(max_length=ASSET_MAX_CHARS, validators=[validate_asset])
    network = models.CharField(max_length=32, default="", blank=True, help_text="e.g. ERC20, TRC20, BTC.")
    fee = models.DecimalField(
        "fee (asset units)",
        max_digits=28,
        decimal_places=12,
        validators=[MinValueValidator(Decimal("0"))],
    )
    withdrawals_enabled = models.BooleanField(default=True)
    deposits_enabled = models.BooleanField(default=True)
    contract = models.CharField(
        "contract address",
        max_length=128,
        blank=True,
        default="",
        validators=[validate_contract],
        help_text="The token's contract on this network (compared without case). Empty: unknown, or the "
        "chain's own coin. Two exchanges naming different contracts for one network hold different coins.",
    )
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
    symbol = models.CharField(max_length=SYMBOL_MAX_CHARS, unique=True, validators=[validate_symbol])
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol

    @property
    def base(self) -> str:
        return split_symbol(self.symbol)[0]

    @property
    def quote(self) -> str:
        return split_symbol(self.symbol)[1]


class ExchangeCredential(models.Model):
    """An exchange's API key, secret and passphrase, encrypted (exchanges.credentials). The
    plaintext is never stored, shown, returned by the API or logged; admin shows the last
    four characters of the key so an operator can tell which key is in use."""

    exchange = models.OneToOneField(Exchange, on_delete=models.CASCADE, primary_key=True, related_name="credential")
    api_key_encrypted = models.TextField(editable=False)
    secret_encrypted = models.TextField(editable=False)
    password_encrypted = models.TextField(editable=False, blank=True, default="")
    api_key_hint = models.CharField(max_length=8, editable=False, help_text="the key's last four characters")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "exchange API credentials"
        verbose_name_plural = "exchange API credentials"

    def __str__(self) -> str:
        return f"{self.exchange_id} API key ...{self.api_key_hint}"

    def store(self, api_key: str, secret: str, password: str = "") -> None:
        """Encrypt and keep (the caller saves)."""
        self.api_key_encrypted = encrypt(api_key)
        self.secret_encrypted = encrypt(secret)
        self.password_encrypted = encrypt(password) if password else ""
        self.api_key_hint = api_key[-4:]

    def decrypted(self) -> ApiCredentials:
        what = f"{self.exchange_id} credentials"
        return ApiCredentials(
            self.exchange_id,
            decrypt(self.api_key_encrypted, what),
            decrypt(self.secret_encrypted, what),
            decrypt(self.password_encrypted, what) if self.password_encrypted else "",
        )

    def rotate(self) -> None:
        """Re-encrypt under the newest key (the caller saves)."""
        what = f"{self.exchange_id} credentials"
        self.api_key_encrypted = rotate(self.api_key_encrypted, what)
        self.secret_encrypted = rotate(self.secret_encrypted, what)
        if self.password_encrypted:
            self.password_encrypted = rotate(self.password_encrypted, what)


class MarketCoverage(models.Model):
    """What ingest watches: the admin's watchlist, or the whole market (every pair listed on
    at least two enabled exchanges that can be priced in USDT, `discover_markets`), capped
    per exchange. A single row (pk=1), created with defaults on first use. It lives with the
    market data, not the scan settings: ingest reads it, and ingest never reads the scan."""

    class Mode(models.TextChoices):
        WATCHLIST = "watchlist", "watchlist (the symbols below)"
        WHOLE_MARKET = "whole_market", "whole market (discovered pairs)"

    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.WATCHLIST)
    max_symbols_per_exchange = models.PositiveIntegerField(
        "max symbols per exchange",
        default=2000,
        validators=[MinValueValidator(1), MaxValueValidator(50_000)],
        help_text="Whole-market mode: each exchange watches at most this many discovered pairs, those "
        "listed on the most exchanges first.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "market coverage"
        verbose_name_plural = "market coverage"

    def __str__(self) -> str:
        return str(self.get_mode_display())

    @classmethod
    def current(cls) -> MarketCoverage:
        coverage, _ = cls.objects.get_or_create(pk=1)
        return coverage


class DiscoveredMarket(models.Model):
    """One spot pair `discover_markets` found on the enabled exchanges, kept or left out."""

    symbol = models.CharField(max_length=SYMBOL_MAX_CHARS, unique=True, validators=[validate_symbol])
    exchanges = models.JSONField(default=list, help_text="the enabled exchanges listing it as an active spot pair")
    included = models.BooleanField(default=False, db_index=True)
    reason = models.CharField(max_length=200, blank=True, default="", help_text="why it was left out")
    discovered_at = models.DateTimeField()

    class Meta:
        ordering = ["-included", "symbol"]

    def __str__(self) -> str:
        return self.symbol
