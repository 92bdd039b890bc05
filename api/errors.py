"""Error pages: a program calling /api/... gets `{"detail": ...}` for a wrong URL or a server
fault, never an HTML page or a traceback; and a database outage is a 503 saying so (to
API clients and people alike), not a 500."""

from __future__ import annotations

import sys
from typing import Any

from django.db import InterfaceError, OperationalError, close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

DATABASE_DOWN = "The database is unavailable; try again shortly."


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


# An error message quotes what it refuses; a 20,000-character value is not quoted whole.
MESSAGE_MAX_CHARS = 300


def shorten(detail: Any) -> Any:
    """Every message in an error body cut to MESSAGE_MAX_CHARS (same types, so DRF's
    ErrorDetail codes survive)."""
    if isinstance(detail, str) and len(detail) > MESSAGE_MAX_CHARS:
        return type(detail)(
            detail[: MESSAGE_MAX_CHARS - 3] + "...", *([detail.code] if hasattr(detail, "code") else [])
        )
    if isinstance(detail, list):
        return [shorten(item) for item in detail]
    if isinstance(detail, dict):
        return {shorten(key) if isinstance(key, str) else key: shorten(value) for key, value in detail.items()}
    return detail


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's, with messages that never echo a huge input back."""
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = shorten(response.data)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields...)."""
    reason = str(exception)[:MESSAGE_MAX_CHARS] if exception is not None else "Bad request."
    if _is_api(request):
        return JsonResponse({"detail": reason or "Bad request."}, status=400)
    return HttpResponse(f"Bad request: {reason}", status=400, content_type="text/plain; charset=utf-8")


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
