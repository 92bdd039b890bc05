"""Outside values in messages and logs: quoted short, whatever they are; URLs without passwords.

Errors name the value at fault, and outside data can be huge (a 20,000-character symbol),
deeply nested, or an int too long to print (repr raises on those); messages end up in
logs and API answers, so they quote a bounded prefix.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

BRIEF_MAX_CHARS = 80


def brief(value: Any, limit: int = BRIEF_MAX_CHARS) -> str:
    """`repr(value)`, cut to `limit` characters with `...`."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def redact_url(url: str) -> str:
    """The URL with its password masked, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def name_of(value: object, limit: int = 40) -> str:
    """A name from outside (a key, a word) as a message shows it: itself when short and
    printable, else quoted and escaped by `brief`."""
    text = str(value) if isinstance(value, str) else None
    return text if text is not None and text.isprintable() and len(text) <= limit else brief(value, limit)
