from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path
from django.views.generic import RedirectView

from live import views as live
from ops import views as ops

urlpatterns = [
    path("", live.dashboard, name="dashboard"),
    path("accounts/login/", live.Login.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    # The audit's admin pages before the model was named Episode: old bookmarks still work.
    path("admin/arbitrage/opportunity/", RedirectView.as_view(url="/admin/arbitrage/episode/", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
]

# API clients get JSON errors; people get Django's pages.
handler400 = "api.errors.bad_request"
handler404 = "api.errors.not_found"
handler500 = "api.errors.server_error"
