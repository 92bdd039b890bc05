"""What a locked-out login gets (django-axes calls `locked_out`): 429 with when to retry,
as JSON for the API and as a page for people."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

STATUS = 429


def lockout_message(request: HttpRequest | None = None) -> str:
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    reason = "Too many failed logins for this account or from this address"
    if minutes is None:
        return f"{reason}: ask staff to unlock it."
    return f"{reason}: try again in {minutes} minute{'s' if minutes != 1 else ''}, or ask staff to unlock it."


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    message = lockout_message(request)
    cool_off = get_cool_off(request)
    retry_after = str(int(cool_off.total_seconds())) if cool_off else None
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=STATUS)
    else:
        response = render(request, "accounts/locked_out.html", {"message": message}, status=STATUS)
    if retry_after:
        response["Retry-After"] = retry_after
    return response
