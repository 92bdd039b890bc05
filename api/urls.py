"""URL patterns of the REST API (/api/v1/...) and of its schema and docs (/api/...)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("episodes", views.EpisodeViewSet, basename="episode")
router.register("scans", views.ScanRecordViewSet, basename="scan")
router.register("exchanges", views.ExchangeViewSet, basename="exchange")
router.register("withdrawal-fees", views.WithdrawalFeeViewSet, basename="withdrawal-fee")

v1_patterns: list[URLPattern | URLResolver] = [
    path("auth/token/", views.TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", views.TokenRefreshAccessView.as_view(), name="token-refresh"),
    path("opportunities/", views.CurrentOpportunitiesView.as_view(), name="opportunities-current"),
    path("books/health/", views.BookHealthView.as_view(), name="books-health"),
    path("settings/", views.ScannerSettingsView.as_view(), name="scanner-settings"),
    path("", include(router.urls)),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/", include((v1_patterns, "api"), namespace="v1")),
    # The schema is public knowledge of the API's shape, still behind a login like the rest.
    path("schema/", views.SchemaView.as_view(), name="api-schema"),
    # Pages for people (a login, like the dashboard), served from this site: Swagger UI and
    # ReDoc from drf-spectacular-sidecar, no CDN; Swagger's start-up script is a file of its
    # own, so nginx's Content-Security-Policy needs no inline scripts.
    path(
        "docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[AllowAny])),
        name="api-docs",
    ),
    path(
        "redoc/",
        login_required(SpectacularRedocView.as_view(url_name="api-schema", permission_classes=[AllowAny])),
        name="api-redoc",
    ),
]
