"""An authenticator app in a few lines (RFC 6238, as Google Authenticator computes it), to
prove the enrolment URI works with any TOTP app, not only with django-otp's own checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from urllib.parse import parse_qs, urlsplit


def secret_of(uri: str) -> bytes:
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp", uri
    query = parse_qs(parts.query)
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"] and query.get("digits", ["6"]) == ["6"], uri
    secret = query["secret"][0]
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def code(uri: str, at: float | None = None) -> str:
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(secret_of(uri), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"
