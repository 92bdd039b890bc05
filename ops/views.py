"""Operators' endpoints: /healthz (the process is alive) and /metrics (Prometheus exposition
of this process's metrics).

/metrics is authenticated like everything else (docs/design.md, "Security"): a staff
session, or `Authorization: Bearer $METRICS_TOKEN` for the Prometheus scraper when set.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest


def _bearer_ok(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    return bool(token) and header.startswith("Bearer ") and hmac.compare_digest(header[7:], token)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def metrics(request: HttpRequest) -> HttpResponse:
    if not (_bearer_ok(request) or (request.user.is_authenticated and request.user.is_staff)):
        return JsonResponse(
            {"detail": "Metrics need a staff login or 'Authorization: Bearer <METRICS_TOKEN>'."}, status=401
        )
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
