"""Operators' endpoints: /healthz (the process is alive), /readyz (it can do its job: the
database, Redis, a recent scan that was not degraded) and /metrics (Prometheus exposition
of this process's metrics).

/readyz and /metrics are authenticated like everything else (docs/design.md, "Security"):
a staff session, or `Authorization: Bearer $METRICS_TOKEN` for the scraper when set.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from ops.readiness import readiness


def _bearer_ok(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    return bool(token) and header.startswith("Bearer ") and hmac.compare_digest(header[7:], token)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _refused(request: HttpRequest) -> JsonResponse | None:
    if _bearer_ok(request) or (request.user.is_authenticated and request.user.is_staff):
        return None
    return JsonResponse(
        {"detail": f"{request.path} needs a staff login or 'Authorization: Bearer <METRICS_TOKEN>'."}, status=401
    )


def metrics(request: HttpRequest) -> HttpResponse:
    refused = _refused(request)
    if refused is not None:
        return refused
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


def readyz(request: HttpRequest) -> HttpResponse:
    refused = _refused(request)
    if refused is not None:
        return refused
    checks = readiness()
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)
