"""REST endpoints under /api/v1/. Every one needs a logged-in user (JWT or session); writes
to configuration need staff. Errors are JSON: 400 names the bad field, 401/403 say why, 503
says which service is down."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView
from rest_framework import generics, serializers, status, viewsets
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import FormParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from api.filters import EpisodeFilter, ScanRecordFilter, WithdrawalFeeFilter
from api.pagination import Pagination
from api.parsers import LimitedJSONParser
from api.permissions import IsStaffOrReadOnly
from api.serializers import (
    CurrentScanSerializer,
    EpisodeSerializer,
    ExchangeSerializer,
    FeedFilterQuerySerializer,
    HealthQuerySerializer,
    HealthReportSerializer,
    ScannerSettingsSerializer,
    ScanRecordSerializer,
    WithdrawalFeeSerializer,
)
from arbitrage import filters as language
from arbitrage.models import Episode, ScannerSettings, ScanRecord
from arbitrage.runtime.config import scan_interval_sec
from arbitrage.runtime.status import current_book_health, latest_scan, latest_status
from exchanges.models import Exchange, WithdrawalFee
from exchanges.store.base import StoreUnavailable
from kernel.clock import now_ms


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The book store is unavailable; try again shortly."
    default_code = "store_unavailable"


# No endpoint takes files: JSON, or a plain form (curl -d), and nothing else.
PARSERS = [LimitedJSONParser, FormParser]

ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="not logged in, or a bad or expired token"),
    403: OpenApiResponse(ErrorSerializer, description="logged in, but not allowed"),
}
BAD_REQUEST = {400: OpenApiResponse(OpenApiTypes.OBJECT, description="invalid values, by field name")}
NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="no such object")}
STORE_DOWN = {503: OpenApiResponse(ErrorSerializer, description="the book store is unavailable")}


def _query(request: Request, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: request.query_params[name] for name in names if name in request.query_params}


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="send as `Authorization: Bearer <access>`; short-lived")
    refresh = serializers.CharField(help_text="trade for a new access token at /api/v1/auth/token/refresh/")


class AccessTokenSerializer(serializers.Serializer):
    access = serializers.CharField()


@extend_schema_view(
    post=extend_schema(
        responses={
            200: TokenPairSerializer,
            **BAD_REQUEST,
            401: OpenApiResponse(ErrorSerializer, description="wrong username or password"),
            429: OpenApiResponse(
                ErrorSerializer,
                description="too many failed logins for the account or from the address: the detail says when "
                "to retry (also in Retry-After)",
            ),
        }
    )
)
class TokenObtainView(TokenObtainPairView):
    """Log in with username and password; get an access and a refresh token. Too many
    failures lock the account and the address out (django-axes)."""

    parser_classes = PARSERS

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        finally:
            # django-axes marks the request it was given, DRF's wrapper; its middleware
            # looks at Django's own request, and answers a lockout with the retry time.
            for name in ("axes_locked_out", "axes_credentials"):
                if name in request.__dict__:
                    setattr(request._request, name, request.__dict__[name])
        # A login like any other: django-axes forgets the failures before it.
        user = serializer.user  # type: ignore[attr-defined]  # simplejwt's TokenObtainSerializer sets it
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response(serializer.validated_data)


@extend_schema_view(
    post=extend_schema(
        responses={
            200: AccessTokenSerializer,
            **BAD_REQUEST,
            401: OpenApiResponse(ErrorSerializer, description="a bad or expired refresh token"),
        }
    )
)
class TokenRefreshAccessView(TokenRefreshView):
    """Trade a refresh token for a new access token."""

    parser_classes = PARSERS


class CurrentOpportunitiesView(APIView):
    """The opportunities of the latest scan (what the dashboard shows), optionally filtered."""

    @extend_schema(
        operation_id="opportunities_current",
        parameters=[FeedFilterQuerySerializer],
        responses={200: CurrentScanSerializer, **BAD_REQUEST, **ERRORS, **STORE_DOWN},
    )
    def get(self, request: Request) -> Response:
        try:
            filters = language.OpportunityFilter.parse(_query(request, language.FILTER_NAMES))
        except language.FilterError as exc:
            raise ValidationError({name: [message] for name, message in exc.errors.items()}) from None
        try:
            message = latest_scan()
        except StoreUnavailable as exc:
            raise ServiceUnavailable(f"The book store is unavailable: {exc}") from None
        items = message.items if message else []
        ts = message.ts if message else None
        selected = filters.apply(items)
        body = {
            "ts": ts,
            "age_ms": None if ts is None else now_ms() - ts,
            "count": len(selected),
            "total": len(items),
            "filters": filters.as_dict(),
            "items": selected,
        }
        return Response(CurrentScanSerializer(body).data)


@extend_schema_view(
    list=extend_schema(responses={200: EpisodeSerializer(many=True), **BAD_REQUEST, **ERRORS}),
    retrieve=extend_schema(responses={200: EpisodeSerializer, **ERRORS, **NOT_FOUND}),
)
class EpisodeViewSet(viewsets.ReadOnlyModelViewSet):
    """Opportunity episodes: each opportunity from the scan it appeared in to the one it was
    gone in. Newest first unless `ordering` says otherwise."""

    queryset = Episode.objects.all().order_by("-last_seen", "-id")
    serializer_class = EpisodeSerializer
    pagination_class = Pagination
    filterset_class = EpisodeFilter


@extend_schema_view(
    list=extend_schema(responses={200: ScanRecordSerializer(many=True), **BAD_REQUEST, **ERRORS}),
    retrieve=extend_schema(responses={200: ScanRecordSerializer, **ERRORS, **NOT_FOUND}),
)
class ScanRecordViewSet(viewsets.ReadOnlyModelViewSet):
    """Every scan the audit recorded, newest first: its books, what it found, whether it
    was degraded or reached the audit late, and the gap before it."""

    queryset = ScanRecord.objects.all().order_by("-id")
    serializer_class = ScanRecordSerializer
    pagination_class = Pagination
    filterset_class = ScanRecordFilter


class BookHealthView(APIView):
    """Every stored book: fresh, stale (not updated for stale_after_sec) or unhealthy (a gap,
    a bad checksum, a resync), its lag and last update; a summary per enabled exchange (with
    the age of its withdrawal network data); and when the latest scan was published."""

    @extend_schema(
        operation_id="books_health",
        parameters=[HealthQuerySerializer],
        responses={200: HealthReportSerializer, **BAD_REQUEST, **ERRORS, **STORE_DOWN},
    )
    def get(self, request: Request) -> Response:
        query = HealthQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        errors: dict[str, list[str]] = {}
        wanted: dict[str, tuple[str, ...]] = {}
        for name, parse in (("exchange", language.parse_exchanges), ("symbol", language.parse_symbols)):
            try:
                wanted[name] = parse(query.validated_data.get(name))
            except ValueError as exc:
                errors[name] = [str(exc)]
        if errors:
            raise ValidationError(errors)
        try:
            report = current_book_health()
            scan = latest_scan()
            status = latest_status()
        except StoreUnavailable as exc:
            raise ServiceUnavailable(f"The book store is unavailable: {exc}") from None

        books = report.books
        if exchanges := wanted["exchange"]:
            books = [b for b in books if b.exchange in exchanges]
            report.exchanges = [e for e in report.exchanges if e.exchange in exchanges]
        if symbols := wanted["symbol"]:
            books = [b for b in books if language.trades(symbols, b.symbol, None)]
        if state := query.validated_data.get("state"):
            books = [b for b in books if b.state == state]
        report.books = books
        body = {
            "ts": report.ts,
            "stale_after_sec": report.stale_after_sec,
            "feed": {
                "last_scan_ts": scan.ts if scan else None,
                "scan_interval_sec": scan_interval_sec(),
                "degraded": bool(status and status.degraded),
                "degraded_reason": status.degraded_reason if status else "",
                "degraded_since": status.degraded_since if status else None,
            },
            "exchanges": report.exchanges,
            "books": report.books,
            "corrupt": report.corrupt,
        }
        return Response(HealthReportSerializer(body).data)


def _config_schema(serializer: type[serializers.Serializer]) -> dict[str, Any]:
    """Per-action schemas of a configuration viewset: its bodies plus the error bodies."""
    return {
        "list": extend_schema(responses={200: serializer(many=True), **BAD_REQUEST, **ERRORS}),
        "retrieve": extend_schema(responses={200: serializer, **ERRORS, **NOT_FOUND}),
        "create": extend_schema(responses={201: serializer, **BAD_REQUEST, **ERRORS}),
        "update": extend_schema(responses={200: serializer, **BAD_REQUEST, **ERRORS, **NOT_FOUND}),
        "partial_update": extend_schema(responses={200: serializer, **BAD_REQUEST, **ERRORS, **NOT_FOUND}),
        "destroy": extend_schema(responses={204: None, **ERRORS, **NOT_FOUND}),
    }


@extend_schema_view(**_config_schema(ExchangeSerializer))
class ExchangeViewSet(viewsets.ModelViewSet):
    """Exchanges and their taker fees (bps). Everyone logged in reads; staff write."""

    queryset = Exchange.objects.all()
    serializer_class = ExchangeSerializer
    parser_classes = PARSERS
    pagination_class = Pagination
    permission_classes = [IsAuthenticated, IsStaffOrReadOnly]
    filterset_fields = ("enabled",)


@extend_schema_view(**_config_schema(WithdrawalFeeSerializer))
class WithdrawalFeeViewSet(viewsets.ModelViewSet):
    """Withdrawal fees per exchange, asset and network (in asset units). Staff write."""

    queryset = WithdrawalFee.objects.select_related("exchange").all()
    serializer_class = WithdrawalFeeSerializer
    parser_classes = PARSERS
    pagination_class = Pagination
    permission_classes = [IsAuthenticated, IsStaffOrReadOnly]
    filterset_class = WithdrawalFeeFilter

    def get_queryset(self) -> QuerySet[WithdrawalFee]:
        return super().get_queryset().order_by("exchange_id", "asset", "network", "id")


@extend_schema_view(
    get=extend_schema(responses={200: ScannerSettingsSerializer, **ERRORS}),
    put=extend_schema(responses={200: ScannerSettingsSerializer, **BAD_REQUEST, **ERRORS}),
    patch=extend_schema(responses={200: ScannerSettingsSerializer, **BAD_REQUEST, **ERRORS}),
)
class ScannerSettingsView(generics.RetrieveUpdateAPIView):
    """The scan's thresholds (one set). Everyone logged in reads; staff write, under the same
    rules as admin (e.g. the extreme edge must be above the min net edge)."""

    serializer_class = ScannerSettingsSerializer
    parser_classes = PARSERS
    permission_classes = [IsAuthenticated, IsStaffOrReadOnly]
    filter_backends: list[Any] = []

    def get_object(self) -> ScannerSettings:
        return ScannerSettings.load()


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema (YAML, or JSON with ?format=json), for logged-in users."""

    permission_classes = [IsAuthenticated]

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        # Errors are JSON like everywhere else in the API, not an "OpenAPI document".
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return response
