"""django-filter FilterSets of the REST API. Each filter means what the same name means on
the live feed (arbitrage.api.feed_filters); an invalid value is a 400 naming the filter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from arbitrage.api import feed_filters
from arbitrage.models import Opportunity
from exchanges.models import WithdrawalFee


def _validator(parser: Callable[[Any], Any]) -> Callable[[Any], None]:
    """A form validator from one of the feed's parsers, so REST and the WebSocket accept and
    reject the same values with the same messages."""

    def validate(value: Any) -> None:
        try:
            parser(value)
        except ValueError as exc:
            # django-filter %-formats messages, and this one quotes the user's value.
            raise ValidationError(str(exc).replace("%", "%%")) from None

    return validate


class SymbolFilter(django_filters.CharFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, validators=[_validator(feed_filters.parse_symbol)], **kwargs)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        wanted = feed_filters.parse_symbol(value)
        if wanted is None:
            return qs
        if "-" in wanted:
            return qs.filter(symbol=wanted)
        # An asset: symbols that trade it, and triangular cycles through it (their key ends
        # in the path joined by ">", e.g. "triangular|okx|USDT>BTC>ETH>USDT").
        return qs.filter(
            Q(symbol__startswith=f"{wanted}-")
            | Q(symbol__endswith=f"-{wanted}")
            | Q(type="triangular", key__contains=f"|{wanted}>")
            | Q(type="triangular", key__contains=f">{wanted}>")
            | Q(type="triangular", key__endswith=f">{wanted}")
        )


class ExchangeFilter(django_filters.CharFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, validators=[_validator(feed_filters.parse_exchange)], **kwargs)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        wanted = feed_filters.parse_exchange(value)
        if wanted is None:
            return qs
        return qs.filter(Q(buy_exchange=wanted) | Q(sell_exchange=wanted) | Q(exchange=wanted))


def _representable_in_utc(value: datetime) -> None:
    # 0001-01-01T00:00+01:00 parses, but is a year-0 instant the database cannot hold.
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValidationError("Date/time out of range: use a year from 1 to 9999 in UTC.") from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, validators=[_representable_in_utc], **kwargs)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        # ISO 8601 allows offsets up to 23:59 but PostgreSQL stops at 15:59: send UTC.
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return super().filter(qs, value)


class RiskFilter(django_filters.ChoiceFilter):
    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if value in (None, ""):
            return qs
        if value == "flagged":
            return qs.exclude(risk_flag="ok")
        return qs.filter(risk_flag=value)


class EpisodeFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=[(t, t) for t in feed_filters.TYPES])
    symbol = SymbolFilter(help_text="an asset (BTC) or a symbol (BTC-USDT)")
    exchange = ExchangeFilter(help_text="buys, sells or cycles on this exchange")
    min_net_edge = django_filters.NumberFilter(
        field_name="net_edge_pct", lookup_expr="gte", help_text="latest net edge, percent, at least"
    )
    risk = RiskFilter(
        choices=[(c, c) for c in feed_filters.RISK_CHOICES], help_text="a risk code, or flagged (anything but ok)"
    )
    # Strict: django-filter's BooleanFilter reads anything unknown as "no filter".
    is_open = django_filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        coerce=lambda value: value == "true",
        help_text="true: still seen in the latest scan",
    )
    since = InstantFilter(field_name="last_seen", lookup_expr="gte", help_text="seen at or after this time (ISO 8601)")
    until = InstantFilter(
        field_name="first_seen", lookup_expr="lte", help_text="first seen at or before this time (ISO 8601)"
    )
    ordering = django_filters.OrderingFilter(
        fields=("last_seen", "first_seen", "net_edge_pct", "peak_net_edge_pct", "expected_profit_usdt", "times_seen")
    )

    class Meta:
        model = Opportunity
        fields = ("type", "symbol", "exchange", "min_net_edge", "risk", "is_open", "since", "until")


class WithdrawalFeeFilter(django_filters.FilterSet):
    exchange = django_filters.CharFilter(field_name="exchange_id")
    asset = django_filters.CharFilter(method="filter_asset")

    class Meta:
        model = WithdrawalFee
        fields = ("exchange", "asset", "withdrawals_enabled")

    def filter_asset(self, qs: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return qs.filter(asset=value.strip().upper())
