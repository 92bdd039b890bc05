"""The dashboard page. Its rows arrive over the WebSocket; the page itself carries only what
the script needs to start (the scan cadence, the server's clock and its endpoints)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from arbitrage.latest import now_ms
from arbitrage.models import ScannerSettings


def _scan_interval_sec() -> float:
    try:
        return float(ScannerSettings.load().scan_interval_sec)
    except DatabaseError:
        return 5.0


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "arbitrage/dashboard.html",
        {
            "config": {
                "wsPath": "/ws/opportunities/",
                "healthUrl": "/api/v1/books/health/",
                "scanIntervalSec": _scan_interval_sec(),
                "serverNowMs": now_ms(),
            }
        },
    )


class Login(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
