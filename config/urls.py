from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from arbitrage import views
from arbitrage.metrics_view import metrics


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/login/", views.Login.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("arbitrage.api.urls")),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
]

# API clients get JSON errors; people get Django's pages.
handler404 = "arbitrage.api.errors.not_found"
handler500 = "arbitrage.api.errors.server_error"
