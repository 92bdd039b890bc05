"""Error pages: a program calling /api/... gets `{"detail": ...}` for a wrong URL or a server
fault, never an HTML page or a traceback; and a database outage is a 503 saying so (to
API clients and people alike), not a 500."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError, close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

DATABASE_DOWN = "The database is unavailable; try again shortly."


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": f"Not found: {request.path[:200]}"}, status=404)
    return defaults.page_not_found(request, exception or Exception())


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception, so it is still at hand.
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        close_old_connections()  # the next request reconnects
        if _is_api(request):
            return JsonResponse({"detail": DATABASE_DOWN}, status=503)
        return HttpResponse(DATABASE_DOWN, status=503, content_type="text/plain; charset=utf-8")
    if _is_api(request):
        return JsonResponse({"detail": "Internal server error; it has been logged."}, status=500)
    return defaults.server_error(request)
