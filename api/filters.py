"""django-filter FilterSets of the REST API. Each filter means what the same name means on
the live feed (arbitrage.filters); an invalid value is a 400 naming the filter."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, datetime
from functools import reduce
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from arbitrage import filters as language
from arbitrage.models import Episode, ScanRecord
from exchanges.models import WithdrawalFee
from kernel.ids import normalize_asset


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


def _trades(wanted: str) -> Q:
    """Episodes that trade `wanted`: that symbol, or (an asset) symbols with it on either
    side and triangular cycles through it (their key ends in the path joined by ">", e.g.
    "triangular|okx|USDT>BTC>ETH>USDT")."""
    if "-" in wanted:
        return Q(symbol=wanted)
    return (
        Q(symbol__startswith=f"{wanted}-")
        | Q(symbol__endswith=f"-{wanted}")
        | Q(type="triangular", key__contains=f"|{wanted}>")
        | Q(type="triangular", key__contains=f">{wanted}>")
        | Q(type="triangular", key__endswith=f">{wanted}")
    )


class SymbolFilter(django_filters.CharFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, validators=[_validator(language.parse_symbols)], **kwargs)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        wanted = language.parse_symbols(value)
        if not wanted:
            return qs
        return qs.filter(reduce(operator.or_, (_trades(name) for name in wanted)))


class ExchangeFilter(django_filters.CharFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, validators=[_validator(language.parse_exchanges)], **kwargs)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        wanted = language.parse_exchanges(value)
        if not wanted:
            return qs
        return qs.filter(Q(buy_exchange__in=wanted) | Q(sell_exchange__in=wanted) | Q(exchange__in=wanted))


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
        if value == "actionable":
            return qs.filter(risk_flag__in=language.ACTIONABLE)
        return qs.filter(risk_flag=value)


def _strict_boolean(help_text: str) -> django_filters.TypedChoiceFilter:
    # django-filter's BooleanFilter reads anything unknown as "no filter": this refuses it.
    return django_filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")], coerce=lambda value: value == "true", help_text=help_text
    )


class EpisodeFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=[(t, t) for t in language.TYPES])
    symbol = SymbolFilter(help_text=language.HELP["symbol"])
    exchange = ExchangeFilter(help_text=language.HELP["exchange"])
    min_net_edge = django_filters.NumberFilter(
        field_name="net_edge_pct", lookup_expr="gte", help_text="latest net edge, percent, at least"
    )
    risk = RiskFilter(choices=[(c, c) for c in language.RISK_CHOICES], help_text=language.HELP["risk"])
    key = django_filters.CharFilter(
        max_length=200, help_text="the episode's identity, as the WebSocket's items carry it in `key`"
    )
    is_open = _strict_boolean("true: still seen in the latest scan")
    since = InstantFilter(field_name="last_seen", lookup_expr="gte", help_text="seen at or after this time (ISO 8601)")
    until = InstantFilter(
        field_name="first_seen", lookup_expr="lte", help_text="first seen at or before this time (ISO 8601)"
    )
    ordering = django_filters.OrderingFilter(
        fields=("last_seen", "first_seen", "net_edge_pct", "peak_net_edge_pct", "expected_profit_usdt", "times_seen")
    )

    class Meta:
        model = Episode
        fields = ("type", "symbol", "exchange", "min_net_edge", "risk", "key", "is_open", "since", "until")


class ScanRecordFilter(django_filters.FilterSet):
    degraded = _strict_boolean("true: scans that could use no book, or fewer than they could not")
    status = django_filters.ChoiceFilter(choices=ScanRecord.Status.choices)
    since = InstantFilter(field_name="started_at", lookup_expr="gte", help_text="at or after this time (ISO 8601)")
    until = InstantFilter(field_name="started_at", lookup_expr="lte", help_text="at or before this time (ISO 8601)")

    class Meta:
        model = ScanRecord
        fields = ("degraded", "status", "since", "until")


class WithdrawalFeeFilter(django_filters.FilterSet):
    exchange = django_filters.CharFilter(field_name="exchange_id")
    asset = django_filters.CharFilter(method="filter_asset")

    class Meta:
        model = WithdrawalFee
        fields = ("exchange", "asset", "withdrawals_enabled")

    def filter_asset(self, qs: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return qs.filter(asset=normalize_asset(value))
