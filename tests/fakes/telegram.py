"""A fake Telegram Bot API server on 127.0.0.1 speaking the real JSON (getMe, sendMessage,
getUpdates, deleteWebhook), for python-telegram-bot pointed at it through `base_url`.

It runs on its own thread and event loop so synchronous code under test (a Celery task, a
management command) can talk to it. Knobs tests turn:

- `fail_next(chat_id, status, retry_after=...)`: the next sendMessage to that chat is
  answered with an error: 429 (with `parameters.retry_after`), 403, 500, ...;
- `block(chat_id)`: the user blocked the bot; every send is 403 Forbidden;
- `push_text(chat_id, text)`: a user message the bot will receive from getUpdates.

`sent` lists every message accepted, in order, as (chat_id, text, parse_mode).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "ArbScan", "username": "arbscan_test_bot"}


@dataclass(frozen=True)
class Sent:
    chat_id: int
    text: str
    parse_mode: str | None


class FakeTelegram:
    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.sent_at: list[float] = []  # when each of `sent` was accepted (time.monotonic())
        self.attempts: list[int] = []  # chat_id of every sendMessage call, failed or not
        self.blocked: set[int] = set()
        self._faults: dict[int, deque[tuple[int, int]]] = defaultdict(deque)
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._next_message_id = 1
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- knobs -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def fail_next(self, chat_id: int, status: int, retry_after: int = 1) -> None:
        with self._lock:
            self._faults[chat_id].append((status, retry_after))

    def block(self, chat_id: int) -> None:
        with self._lock:
            self.blocked.add(chat_id)

    def push_text(self, chat_id: int, text: str, username: str = "alice") -> None:
        with self._lock:
            uid = self._next_update_id
            self._next_update_id += 1
            user = {"id": chat_id, "is_bot": False, "first_name": username, "username": username}
            entities = []
            if text.startswith("/"):
                entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            self._updates.append(
                {
                    "update_id": uid,
                    "message": {
                        "message_id": uid,
                        "date": int(time.time()),
                        "chat": {"id": chat_id, "type": "private", "username": username},
                        "from": user,
                        "text": text,
                        "entities": entities,
                    },
                }
            )

    def texts_to(self, chat_id: int) -> list[str]:
        return [m.text for m in self.sent if m.chat_id == chat_id]

    # --- protocol ----------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        form = await request.post()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        if method == "getMe":
            return self._ok(BOT_USER)
        if method in ("deleteWebhook", "setMyCommands"):
            return self._ok(True)
        if method == "sendMessage":
            return self._send_message(params)
        if method == "getUpdates":
            return await self._get_updates(params)
        return self._error(404, "Not Found: method not found")

    def _send_message(self, params: dict[str, Any]) -> web.Response:
        try:
            chat_id = int(params["chat_id"])
        except (KeyError, ValueError):
            return self._error(400, "Bad Request: chat_id is empty")
        text = str(params.get("text", ""))
        with self._lock:
            self.attempts.append(chat_id)
            fault = self._faults[chat_id].popleft() if self._faults[chat_id] else None
            blocked = chat_id in self.blocked
            if fault is None and not blocked:
                self.sent.append(Sent(chat_id, text, params.get("parse_mode")))
                self.sent_at.append(time.monotonic())
                message_id = self._next_message_id
                self._next_message_id += 1
        if blocked or (fault and fault[0] == 403):
            return self._error(403, "Forbidden: bot was blocked by the user")
        if fault and fault[0] == 429:
            return self._error(429, f"Too Many Requests: retry after {fault[1]}", retry_after=fault[1])
        if fault:
            return self._error(fault[0], "Internal Server Error")
        return self._ok(
            {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": text,
            }
        )

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 0.5)  # short polls keep tests quick
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                # A client acknowledges updates below its offset: forget them, as Telegram does.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates)
            if ready or time.monotonic() >= deadline:
                return self._ok(ready)
            await asyncio.sleep(0.02)

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/bot{token}/{method}", self._handle)
            app.router.add_get("/bot{token}/{method}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        started.wait(10)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


@contextmanager
def fake_telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


__all__ = ["TOKEN", "FakeTelegram", "Sent", "fake_telegram"]
