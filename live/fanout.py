"""Process-local fan-out of the scan feed to WebSocket consumers.

The channel layer copies a group message once per member channel (the in-memory layer
deep-copies it, channels-redis serialises it), and each consumer would then encode it to
JSON again: with a thousand dashboards and a 100-item scan that is seconds of CPU per scan.
So one `FeedHub` per event loop (per server process) joins the group, receives each scan
once, encodes it once per distinct set of filters, and hands the text to every local
subscriber.

Each subscriber has a one-slot `Mailbox`: a new scan replaces one not yet sent, so a slow
client gets the newest scan instead of a growing backlog, and never holds up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from channels.layers import BaseChannelLayer, get_channel_layer
from redis.exceptions import TimeoutError as RedisTimeoutError

from arbitrage.filters import OpportunityFilter
from arbitrage.runtime.feed import GROUP, GROUP_EVENT, ScanMessage
from live.diffs import Keyed, encode_diff, keyed

logger = logging.getLogger(__name__)

# Membership of the group is renewed this often: it expires in the channel layers (after a
# day), and a restarted or flushed Redis forgets it at once, often without the blocked
# read noticing (redis-py reconnects it quietly). A ZADD a second is cheap, and a process's
# feed is back within a second of Redis, before the next scan (every few seconds).
GROUP_RENEW_SEC = 1.0
# After the layer failed: first try to join again after this, backing off to the max.
REJOIN_FIRST_SEC = 0.1
REJOIN_MAX_SEC = 2.0


def encode_scan(message: ScanMessage, filters: OpportunityFilter) -> str:
    """The scan message, with only the items the filters let through."""
    return message.encode(filters.apply(message.items))


Diff = tuple[int, str]  # (the scan it starts from, its text): live.diffs


class Mailbox:
    """The newest undelivered scan of one client, sent by its own task.

    A scan may come with a diff from the previous one: it is sent instead of the full
    message only when the client holds exactly the scan the diff starts from. A client
    that missed one (a newer scan replaced an unsent one) gets the full message."""

    def __init__(self, send_text: Callable[[str], Awaitable[None]]) -> None:
        self._send_text = send_text
        self._text: str | None = None
        self._diff: Diff | None = None
        self._ts = -1
        self._last: tuple[int, str] | None = None  # the newest (ts, text) offered
        self._held: int | None = None  # the scan the client holds whole, for diffs
        self._ready = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    def offer(self, ts: int, text: str, diff: Diff | None = None) -> None:
        """Queue a scan. An older one than already offered is dropped, and so is the very
        same text again: a scan read from the store on connect can race its own broadcast.
        The same scan under new filters (another text) is news, and goes out."""
        if ts < self._ts or (ts, text) == self._last:
            return
        self._ts, self._text, self._diff, self._last = ts, text, diff, (ts, text)
        self._ready.set()

    def restart(self) -> None:
        """Forget what the client holds (its filters changed): the next scan goes out whole."""
        self._ts, self._text, self._diff, self._last, self._held = -1, None, None, None, None

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            text, diff, ts = self._text, self._diff, self._ts
            self._text = self._diff = None
            if text is None:
                continue
            if diff is not None and diff[0] == self._held:
                text = diff[1]
            await self._send_text(text)
            self._held = ts

    async def close(self) -> None:
        self._task.cancel()
        # Exception: a send that failed because the socket was already closing.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


class Subscriber(Protocol):
    @property
    def filters(self) -> OpportunityFilter: ...

    @property
    def wants_diffs(self) -> bool: ...

    def deliver(self, ts: int, text: str, diff: Diff | None = None) -> None: ...


class FeedHub:
    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.subscribers: set[Subscriber] = set()
        self.latest: ScanMessage | None = None  # the newest scan seen since the hub started
        self._views: dict[OpportunityFilter, tuple[int, Keyed]] = {}  # the last scan, per diffed filters
        self._channel: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()

    async def add(self, subscriber: Subscriber) -> None:
        async with self._lock:
            self.subscribers.add(subscriber)
            if self._channel is None:
                self._channel = await self.layer.new_channel("feedhub")
                await self.layer.group_add(GROUP, self._channel)
                self._tasks = [
                    asyncio.create_task(self._receive(self._channel)),
                    asyncio.create_task(self._renew(self._channel)),
                ]

    async def remove(self, subscriber: Subscriber) -> None:
        async with self._lock:
            self.subscribers.discard(subscriber)
            if self.subscribers or self._channel is None:
                return
            channel, tasks = self._channel, self._tasks
            # Without members the hub hears nothing, so what it last heard may go stale.
            self._channel, self._tasks, self.latest = None, [], None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.layer.group_discard(GROUP, channel)

    def dispatch(self, message: ScanMessage) -> None:
        if self.latest is None or message.ts >= self.latest.ts:
            self.latest = message
        encoded: dict[OpportunityFilter, str] = {}
        diffs: dict[OpportunityFilter, Diff | None] = {}
        views: dict[OpportunityFilter, tuple[int, Keyed]] = {}
        for subscriber in list(self.subscribers):
            filters = subscriber.filters
            text = encoded.get(filters)
            if text is None:
                text = encoded[filters] = encode_scan(message, filters)
            diff = None
            if subscriber.wants_diffs:
                if filters not in diffs:
                    diffs[filters] = self._diff(message, filters, views)
                diff = diffs[filters]
            subscriber.deliver(message.ts, text, diff)
        # Only filter sets with diff clients are kept: the next scan diffs against these.
        self._views = views

    def _diff(
        self, message: ScanMessage, filters: OpportunityFilter, views: dict[OpportunityFilter, tuple[int, Keyed]]
    ) -> Diff | None:
        now = keyed(filters.apply(message.items))
        if now is None:
            return None
        views[filters] = (message.ts, now)
        before = self._views.get(filters)
        if before is None or before[0] >= message.ts:
            return None
        return before[0], encode_diff(message.ts, before[0], before[1], now)

    async def _receive(self, channel: str) -> None:
        while True:
            try:
                event = await self.layer.receive(channel)
            except RedisTimeoutError:
                # An idle blocking read outlived the client's socket timeout (redis-py's
                # default equals channels-redis's BZPOPMIN timeout): listen again.
                continue
            except Exception as exc:
                # channels-redis raises while Redis is away. A restarted Redis has forgotten
                # every membership: join again the moment it answers, before listening, so
                # the first scan published after it returns reaches this process.
                logger.warning(
                    "feed hub: channel layer unavailable; rejoining as soon as it answers",
                    extra={"error": f"{type(exc).__name__}: {exc}"},
                )
                await self._rejoin(channel)
                continue
            if event.get("type") != GROUP_EVENT:
                continue
            message = ScanMessage.parse(event.get("message"))
            if message is None:
                logger.warning("feed hub: ignoring a malformed scan message")
                continue
            self.dispatch(message)

    async def _rejoin(self, channel: str) -> None:
        delay = REJOIN_FIRST_SEC
        while True:
            await asyncio.sleep(delay)
            try:
                await self.layer.group_add(GROUP, channel)
            except Exception:
                delay = min(delay * 2, REJOIN_MAX_SEC)
                continue
            logger.info("feed hub: channel layer back; listening again")
            return

    async def _renew(self, channel: str) -> None:
        while True:
            await asyncio.sleep(GROUP_RENEW_SEC)
            try:
                await self.layer.group_add(GROUP, channel)
            except Exception as exc:  # the receive loop notices too, and rejoins
                logger.warning("feed hub: renewing the group membership failed", extra={"error": str(exc)})


_hubs: dict[asyncio.AbstractEventLoop, FeedHub] = {}


def get_hub() -> FeedHub:
    """The hub of the running event loop (one per server process; tests run several loops)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for old in [other for other in _hubs if other.is_closed()]:
            del _hubs[old]
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("CHANNEL_LAYERS is not configured: the live feed needs a channel layer")
        hub = _hubs[loop] = FeedHub(layer)
    return hub
