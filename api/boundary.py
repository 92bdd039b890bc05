"""The first middleware: requests no view should see are refused here, with the reason,
as JSON under /api/ and as text elsewhere, before anything parses them.

- A NUL character in the path, the query string or a form body (PostgreSQL cannot store
  or even look one up, and nothing on this site needs one). JSON bodies are checked by
  their parser (kernel.json_input).
- A body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413, declared ones without reading them.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

# Bodies Django decodes into request.POST. Nothing on this site takes file uploads, so a
# NUL byte in a multipart body is no file's content either.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refusal(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class HostileInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or b"\x00" in unquote_to_bytes(query):
            return refusal(request, 400, "The URL contains a NUL character (%00): remove it.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return refusal(request, 400, "Content-Length is not a number.")
        if limit is not None and length > limit:
            return refusal(request, 413, f"The request body is {length} bytes; the limit is {limit} bytes.")
        if request.content_type in FORM_TYPES:
            try:
                body = request.body
            except RequestDataTooBig:
                return refusal(request, 413, f"The request body is over the limit of {limit} bytes.")
            if b"\x00" in body or b"%00" in body:
                return refusal(request, 400, "The form contains a NUL character (%00): remove it.")
        return self.get_response(request)
