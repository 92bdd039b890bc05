"""WebSocket /ws/opportunities/: the live scan feed for logged-in users.

Authentication, in order: a JWT in the query string (`?token=...`), the session cookie (a
browser on this site), or a first message `{"type": "auth", "token": "..."}` within
AUTH_TIMEOUT_SEC. Until then the client gets nothing but an `auth_required` error; a bad
token or any other message closes the socket with code 4401.

Once in, the client gets the latest scan at once and then every scan, each in the exact
shape of the scan message (arbitrage.runtime.feed). Client messages:
- `{"type": "subscribe", "filters": {...}}`: only items that match (arbitrage.filters);
  answered with `subscribed` and the latest scan filtered; `{}` clears the filters. With
  `"diffs": true`, after that full message each scan comes as a diff from the previous one
  (live.diffs: added, changed, removed), or whole again when the client missed one;
- `{"type": "ping"}`: answered with `pong`.
Anything else (not JSON, binary, an unknown type, bad filters) is answered with
`{"type": "error", "code": ..., "message": ...}` and the connection stays up; a frame over
MAX_FRAME_CHARS is answered and closed with 1009, and JSON no client sends (nested deeper
than kernel.json_input.MAX_DEPTH, NUL characters) with 1008, before and after login.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from arbitrage.filters import FilterError, OpportunityFilter
from arbitrage.runtime.status import latest_scan
from kernel import json_input
from live.fanout import Diff, Mailbox, encode_scan, get_hub

logger = logging.getLogger(__name__)

AUTH_TIMEOUT_SEC = 10.0
CLOSE_UNAUTHORIZED = 4401
CLOSE_POLICY = 1008  # RFC 6455: a message that violates the server's policy
CLOSE_TOO_BIG = 1009  # RFC 6455: a message too big to process
MAX_FRAME_CHARS = 16_384  # client messages are small commands


@database_sync_to_async
def user_for_token(raw: str) -> AbstractBaseUser | None:
    """The active user a valid access token names, else None."""
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

    auth = JWTAuthentication()
    try:
        user = auth.get_user(auth.get_validated_token(raw.encode()))
    except (InvalidToken, TokenError, AuthenticationFailed):
        return None
    return user if user.is_active else None


class OpportunitiesConsumer(AsyncJsonWebsocketConsumer):
    # No channel on the layer per socket: the process's FeedHub listens for all of them
    # (one layer receive instead of one per client; see live.fanout).
    channel_layer_alias = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user: Any = None
        self.filters = OpportunityFilter()
        self.wants_diffs = False
        self.mailbox: Mailbox | None = None
        self._auth_deadline: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await self.accept()

        token = self._query_token()
        if token is not None:
            user = await user_for_token(token)
            if user is None:
                await self._refuse(
                    "auth_failed", "The token is invalid or expired: get a new one at /api/v1/auth/token/."
                )
                return
            await self._start(user)
            return
        scope_user = self.scope.get("user")
        if scope_user is not None and scope_user.is_authenticated and self._same_origin():
            await self._start(scope_user)
            return
        await self._error(
            "auth_required",
            f'Log in, or send {{"type": "auth", "token": "<JWT access token>"}} within {AUTH_TIMEOUT_SEC:g} s.',
        )
        self._auth_deadline = asyncio.create_task(self._expire_auth())

    async def disconnect(self, code: int) -> None:
        if self._auth_deadline is not None:
            self._auth_deadline.cancel()
        if self.mailbox is not None:
            await get_hub().remove(self)
            await self.mailbox.close()
            self.mailbox = None

    # --- incoming frames -----------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None:
            await self._error("bad_frame", "Send JSON text frames, not binary.")
            return
        if len(text_data) > MAX_FRAME_CHARS:
            await self._error("frame_too_big", f"Message too long (over {MAX_FRAME_CHARS} characters): closing.")
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            content = json_input.loads(text_data)
        except json_input.HostileJson as exc:
            await self._error("hostile_frame", f"Refused: {exc}; closing.")
            await self.close(code=CLOSE_POLICY)
            return
        except json_input.JsonInputError as exc:
            await self._error("bad_json", f"Not JSON: {exc}.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if not isinstance(kind, str):
            await self._error("bad_message", 'Send an object with a "type", e.g. {"type": "subscribe", "filters": {}}.')
            return
        if self.user is None:
            await self._authenticate(kind, content)
        elif kind == "subscribe":
            await self._subscribe(content.get("filters", {}), content.get("diffs", False))
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "auth":
            await self._error("bad_message", "Already authenticated.")
        else:
            await self._error("unknown_type", f"Unknown type {kind[:40]!r}: use subscribe or ping.")

    # --- authentication ------------------------------------------------------------------

    def _query_token(self) -> str | None:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        values = query.get("token")
        return values[-1] if values else None

    def _same_origin(self) -> bool:
        """A session cookie counts only from this site's own pages: a browser sends cookies
        with a WebSocket opened from any site (cross-site WebSocket hijacking)."""
        headers = dict(self.scope.get("headers", []))
        origin = headers.get(b"origin")
        if origin is None:
            return True  # not a browser; browsers always send Origin on WebSocket
        origin_text = origin.decode("latin-1")
        host = headers.get(b"host", b"").decode("latin-1")
        return urlsplit(origin_text).netloc == host or origin_text in settings.CSRF_TRUSTED_ORIGINS

    async def _authenticate(self, kind: str, content: dict[str, Any]) -> None:
        token = content.get("token")
        if kind != "auth" or not isinstance(token, str):
            await self._refuse("auth_required", 'Authenticate first: {"type": "auth", "token": "<JWT access token>"}.')
            return
        user = await user_for_token(token)
        if user is None:
            await self._refuse("auth_failed", "The token is invalid or expired: get a new one at /api/v1/auth/token/.")
            return
        if self._auth_deadline is not None:
            self._auth_deadline.cancel()
        await self.send_json({"type": "authenticated", "user": user.get_username()})
        await self._start(user)

    async def _expire_auth(self) -> None:
        await asyncio.sleep(AUTH_TIMEOUT_SEC)
        if self.user is None:
            await self._refuse("auth_timeout", "No authentication received in time.")

    async def _refuse(self, code: str, message: str) -> None:
        await self._error(code, message)
        await self.close(code=CLOSE_UNAUTHORIZED)

    # --- the feed --------------------------------------------------------------------------

    async def _start(self, user: Any) -> None:
        self.user = user
        self.mailbox = Mailbox(self._send_text)
        hub = get_hub()
        await hub.add(self)
        await self._offer_latest()

    def deliver(self, ts: int, text: str, diff: Diff | None = None) -> None:
        if self.mailbox is not None:
            self.mailbox.offer(ts, text, diff if self.wants_diffs else None)

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def _offer_latest(self) -> None:
        message = get_hub().latest
        if message is None:
            try:
                message = await sync_to_async(latest_scan, thread_sensitive=False)()
            except Exception as exc:  # the store is down: the next broadcast will do
                logger.warning("latest scan unavailable for a new client", extra={"error": str(exc)})
                return
        if message is not None:
            self.deliver(message.ts, encode_scan(message, self.filters))

    async def _subscribe(self, raw: Any, diffs: Any) -> None:
        if not isinstance(diffs, bool):
            await self._error("bad_message", '"diffs" is true or false.')
            return
        try:
            self.filters = OpportunityFilter.parse(raw)
        except FilterError as exc:
            await self.send_json(
                {"type": "error", "code": "invalid_filters", "message": str(exc), "errors": exc.errors}
            )
            return
        self.wants_diffs = diffs
        if self.mailbox is not None:
            self.mailbox.restart()  # what the client holds was under the old filters
        await self.send_json({"type": "subscribed", "filters": self.filters.as_dict(), "diffs": diffs})
        await self._offer_latest()

    async def _error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})
