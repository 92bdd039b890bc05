"""The opportunity feed: each scan's result as one message, kept in a capped stream and sent
to the Channels group that live delivery listens to; and the latest scan's status (how
many books it could use, degraded or not) for the dashboard, /readyz and Telegram.

`ScanMessage` is the message of docs/design.md ("Contracts"),
`{"type": "opportunities", "ts": MS, "items": [Opportunity, ...]}`: it is built, parsed
and encoded here and nowhere else. Messages read back from Redis are outside data, so
`ScanMessage.parse` checks them once and anything malformed is skipped with a log line.

Two feeds share one contract (tests/arbitrage/runtime/test_feed.py): `RedisScanFeed`, a
stream `XADD MAXLEN ~ FEED_MAXLEN` whose entries hold the message's JSON in one field
`data`, and `MemoryScanFeed` for the embedded demo.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from arbitrage.engine.types import Opportunity
from exchanges.store.base import StoreUnavailable
from exchanges.store.redis_store import redis_client, talking_to
from kernel.text import brief, redact_url

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "opportunities"
GROUP = "opportunities"  # the Channels group every live-delivery process joins
GROUP_EVENT = "scan.result"  # the event type of a scan on that group
_DATA = b"data"


@dataclass(frozen=True, slots=True)
class ScanMessage:
    ts: int  # the scan's time, ms since the epoch
    items: list[dict[str, Any]]  # Opportunity.as_dict() of each opportunity, best first

    @classmethod
    def of(cls, ts: int, opportunities: Iterable[Opportunity], previous: ScanMessage | None = None) -> ScanMessage:
        """Each item is the opportunity's fields plus what a trader reads beside them: `key`
        (its episode), `open_since` (ms: the first scan of the unbroken run of published
        scans that had it, carried on from `previous`) and `peak_net_edge_pct` (the best net
        edge over that run)."""
        before = previous.episodes() if previous is not None else {}
        items = []
        for found in opportunities:
            item = found.as_dict()
            key = found.episode_key
            since, peak = before.get(key, (ts, found.net_edge_pct))
            item["key"] = key
            item["open_since"] = min(since, ts)
            item["peak_net_edge_pct"] = max(peak, found.net_edge_pct)
            items.append(item)
        return cls(ts, items)

    def episodes(self) -> dict[str, tuple[int, float]]:
        """(open_since, peak_net_edge_pct) by key, of the items that carry both well formed
        (a message read back from Redis is outside data)."""
        known: dict[str, tuple[int, float]] = {}
        for item in self.items:
            key, since, peak = item.get("key"), item.get("open_since"), item.get("peak_net_edge_pct")
            if not isinstance(key, str) or isinstance(since, bool) or not isinstance(since, int):
                continue
            if isinstance(peak, bool) or not isinstance(peak, int | float) or not math.isfinite(peak):
                continue
            known[key] = (since, float(peak))
        return known

    @classmethod
    def parse(cls, raw: Any) -> ScanMessage | None:
        """The message if `raw` has the contract's shape, else None."""
        if not isinstance(raw, Mapping) or raw.get("type") != MESSAGE_TYPE:
            return None
        ts, items = raw.get("ts"), raw.get("items")
        if isinstance(ts, bool) or not isinstance(ts, int) or not isinstance(items, list):
            return None
        if not all(isinstance(item, dict) for item in items):
            return None
        return cls(ts, items)

    def as_dict(self, items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The wire form; `items` replaces the message's own (a client's filtered view)."""
        return {"type": MESSAGE_TYPE, "ts": self.ts, "items": self.items if items is None else items}

    def encode(self, items: list[dict[str, Any]] | None = None) -> str:
        """The wire form as JSON text (one WebSocket frame)."""
        return orjson.dumps(self.as_dict(items)).decode()


@dataclass(frozen=True, slots=True)
class ScanStatus:
    """How the latest scan went, as readers need it even while the database is away."""

    ts: int  # the scan's time, ms since the epoch
    books_total: int
    books_used: int
    opportunities: int
    degraded_reason: str = ""  # empty: not degraded
    degraded_since: int | None = None  # first scan of the current degraded streak, ms
    errors: tuple[str, ...] = ()

    @property
    def degraded(self) -> bool:
        return bool(self.degraded_reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "books_total": self.books_total,
            "books_used": self.books_used,
            "opportunities": self.opportunities,
            "degraded": self.degraded,
            "degraded_reason": self.degraded_reason,
            "degraded_since": self.degraded_since,
            "errors": list(self.errors),
        }

    @classmethod
    def parse(cls, raw: Any) -> ScanStatus | None:
        """The status if `raw` is one (it comes back from Redis: outside data), else None."""
        if not isinstance(raw, Mapping):
            return None
        if not isinstance(raw.get("errors"), list):
            return None
        try:
            status = cls(
                ts=raw["ts"],
                books_total=raw["books_total"],
                books_used=raw["books_used"],
                opportunities=raw["opportunities"],
                degraded_reason=raw["degraded_reason"],
                degraded_since=raw["degraded_since"],
                errors=tuple(raw["errors"]),
            )
        except (KeyError, TypeError):
            return None
        numbers = (status.ts, status.books_total, status.books_used, status.opportunities)
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
            return None
        if not isinstance(status.degraded_reason, str) or not all(isinstance(e, str) for e in status.errors):
            return None
        if status.degraded_since is not None and not isinstance(status.degraded_since, int):
            return None
        return status

    def following(self, previous: ScanStatus | None) -> ScanStatus:
        """This status with its degraded streak carried on from the previous scan's."""
        if not self.degraded:
            return self
        since = previous.degraded_since if previous is not None and previous.degraded else None
        return ScanStatus(
            self.ts,
            self.books_total,
            self.books_used,
            self.opportunities,
            self.degraded_reason,
            since if since is not None else self.ts,
            self.errors,
        )


class ScanFeed(Protocol):
    def publish(self, message: ScanMessage) -> None:
        """Append one scan's message. Raises StoreUnavailable when the feed cannot be reached."""
        ...

    def set_status(self, status: ScanStatus) -> None:
        """Replace the latest scan's status. Raises StoreUnavailable."""
        ...

    def status(self) -> ScanStatus | None:
        """The latest scan's status, None before the first one. Raises StoreUnavailable."""
        ...

    def read(self, count: int = 10) -> list[ScanMessage]:
        """The newest `count` messages, oldest first (malformed ones skipped). Raises
        StoreUnavailable."""
        ...

    def close(self) -> None: ...


def latest(feed: ScanFeed) -> ScanMessage | None:
    """The newest scan's message, or None before the first scan. Raises StoreUnavailable."""
    newest = feed.read(1)
    return newest[-1] if newest else None


def latest_or_none(feed: ScanFeed) -> ScanMessage | None:
    """The newest scan's message; None before the first scan or while the feed is away
    (an opportunity's open_since then starts again: logged, never fatal)."""
    try:
        return latest(feed)
    except StoreUnavailable as exc:
        logger.warning("previous scan unreadable: open-since times restart", extra={"error": str(exc)})
        return None


def publish_scan(feed: ScanFeed, message: ScanMessage) -> None:
    """Send one scan's message to the stream and to the channel group. Either may fail on
    its own (logged); neither stops the other or the scan."""
    try:
        feed.publish(message)
    except Exception:
        logger.exception("feed stream publish failed", extra={"ts": message.ts})
    layer = get_channel_layer()
    if layer is None:
        return
    event = {"type": GROUP_EVENT, "message": message.as_dict()}
    for attempt in (1, 2):
        try:
            async_to_sync(layer.group_send)(GROUP, event)
            return
        except Exception as exc:
            # The first send after a Redis restart meets a connection the server closed:
            # the second one reconnects.
            if attempt == 2:
                logger.error("channel layer publish failed", extra={"ts": message.ts, "error": str(exc)})


def _decode(entries: Iterable[tuple[str, bytes | str | None]]) -> list[ScanMessage]:
    messages = []
    for entry_id, payload in entries:
        try:
            raw = orjson.loads(payload) if payload is not None else None
        except orjson.JSONDecodeError:
            raw = None
        message = ScanMessage.parse(raw)
        if message is None:
            logger.warning("malformed feed message skipped", extra={"key": entry_id, "value": brief(payload, 200)})
        else:
            messages.append(message)
    return messages


class MemoryScanFeed:
    """The feed of one process (the embedded demo): what Redis would keep, kept here."""

    def __init__(self, maxlen: int = 1000) -> None:
        if maxlen < 1:
            raise ValueError(f"the feed must keep at least 1 message, got {maxlen}")
        self._lock = threading.Lock()
        self._messages: deque[bytes] = deque(maxlen=maxlen)
        self._status: ScanStatus | None = None

    def publish(self, message: ScanMessage) -> None:
        payload = orjson.dumps(message.as_dict())
        with self._lock:
            self._messages.append(payload)

    def set_status(self, status: ScanStatus) -> None:
        with self._lock:
            self._status = status

    def status(self) -> ScanStatus | None:
        with self._lock:
            return self._status

    def read(self, count: int = 10) -> list[ScanMessage]:
        if count <= 0:
            return []
        with self._lock:
            newest = list(self._messages)[-count:]
        return _decode((f"memory-{i}", payload) for i, payload in enumerate(newest))

    def close(self) -> None:
        """Nothing to release; here so both feeds can be closed alike."""


class RedisScanFeed:
    def __init__(self, url: str, stream: str = "opportunities_feed", maxlen: int = 1000) -> None:
        if maxlen < 1:
            raise ValueError(f"the feed must keep at least 1 message, got {maxlen}")
        self.url = redact_url(url)
        self.stream = stream
        self.status_key = f"{stream}:status"
        self.maxlen = maxlen
        self._client = redis_client(url, client_name="arbscan-feed")

    def __repr__(self) -> str:
        return f"RedisScanFeed({self.url!r}, stream={self.stream!r})"

    def publish(self, message: ScanMessage) -> None:
        payload = orjson.dumps(message.as_dict())
        with talking_to(self.url, "publish to the feed"):
            self._client.xadd(self.stream, {_DATA: payload}, maxlen=self.maxlen, approximate=True)

    def set_status(self, status: ScanStatus) -> None:
        with talking_to(self.url, "record the scan status"):
            self._client.set(self.status_key, orjson.dumps(status.as_dict()))

    def status(self) -> ScanStatus | None:
        with talking_to(self.url, "read the scan status"):
            raw = self._client.get(self.status_key)
        try:
            status = ScanStatus.parse(orjson.loads(raw)) if raw is not None else None
        except orjson.JSONDecodeError:
            status = None
        if raw is not None and status is None:
            logger.warning("malformed scan status ignored", extra={"key": self.status_key, "value": brief(raw, 200)})
        return status

    def read(self, count: int = 10) -> list[ScanMessage]:
        if count <= 0:
            return []
        # MAXLEN ~ trims whole stream nodes, so the stream may hold a few more entries than
        # maxlen; reading at most maxlen keeps the visible cap exact.
        with talking_to(self.url, "read the feed"):
            entries = self._client.xrevrange(self.stream, count=min(count, self.maxlen))
        payloads = [(_text(entry_id), fields.get(_DATA) if fields else None) for entry_id, fields in entries or []]
        payloads.reverse()
        return _decode(payloads)

    def close(self) -> None:
        self._client.close()


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
