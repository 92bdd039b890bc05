"""The dashboard page. Its rows arrive over the WebSocket; the page itself carries only what
the script needs to start (the scan cadence, the server's clock and its endpoints)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from arbitrage.filters import ACTIONABLE
from arbitrage.risk_words import RISK_WORDS
from arbitrage.runtime.config import scan_interval_sec
from kernel.clock import now_ms


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "live/dashboard.html",
        {
            "config": {
                "wsPath": "/ws/opportunities/",
                "healthUrl": "/api/v1/books/health/",
                "scanIntervalSec": scan_interval_sec(),
                "serverNowMs": now_ms(),
                "riskWords": RISK_WORDS,
                "actionable": list(ACTIONABLE),
                "episodesUrl": "/api/v1/episodes/",
            }
        },
    )


class Login(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
