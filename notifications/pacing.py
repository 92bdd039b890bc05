"""Telegram's limits, kept by every process together: at most SendPolicy.per_second
messages a second overall and one a second per chat (one every three seconds per group),
however many workers send at once.

`reserve(chat_id)` books the next free slot and says how long to wait for it. In full mode
the slots are booked in Redis by one atomic script on Redis's own clock, so workers on
several hosts share them; in embedded mode (one process) they are kept in memory. If Redis
is away the sender keeps its own pace and says so: late is better than lost.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import redis

from kernel.throttle import Throttle

logger = logging.getLogger(__name__)

# KEYS: the overall slot, this chat's slot. ARGV: overall and chat intervals (µs), TTL (ms).
# Returns the µs to wait. Redis's TIME is every worker's one clock.
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local overall = tonumber(redis.call('GET', KEYS[1]) or '0')
local chat = tonumber(redis.call('GET', KEYS[2]) or '0')
local start = math.max(now, overall, chat)
redis.call('SET', KEYS[1], string.format('%d', start + tonumber(ARGV[1])), 'PX', ARGV[3])
redis.call('SET', KEYS[2], string.format('%d', start + tonumber(ARGV[2])), 'PX', ARGV[3])
return start - now
"""


class Pacer(Protocol):
    def reserve(self, chat_id: int, overall_sec: float, chat_sec: float) -> float:
        """Book the next slot for a message to `chat_id`; the seconds to wait for it."""
        ...


class MemoryPacer:
    """The slots of one process."""

    def __init__(self) -> None:
        self._next_overall = 0.0
        self._next_chat: dict[int, float] = {}
        self._guard = threading.Lock()

    def reserve(self, chat_id: int, overall_sec: float, chat_sec: float) -> float:
        with self._guard:
            now = time.monotonic()
            start = max(now, self._next_overall, self._next_chat.get(chat_id, 0.0))
            self._next_overall = start + overall_sec
            self._next_chat[chat_id] = start + chat_sec
            return start - now


class RedisPacer:
    """The slots of every process sharing this Redis."""

    def __init__(self, url: str, prefix: str = "telegram-pace:") -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._reserve = self._client.register_script(_RESERVE)
        self._prefix = prefix
        self._fallback = MemoryPacer()
        self._said = Throttle(60.0)

    def reserve(self, chat_id: int, overall_sec: float, chat_sec: float) -> float:
        keys = [f"{self._prefix}all", f"{self._prefix}chat:{chat_id}"]
        ttl_ms = int(max(overall_sec, chat_sec) * 1000) + 60_000
        try:
            waited_us = self._reserve(keys=keys, args=[int(overall_sec * 1e6), int(chat_sec * 1e6), ttl_ms])
        except redis.RedisError as exc:
            if self._said.allow("redis") is not None:
                logger.warning(
                    "telegram pacing falls back to this process alone: Redis is unavailable",
                    extra={"error": str(exc)},
                )
            return self._fallback.reserve(chat_id, overall_sec, chat_sec)
        return int(waited_us) / 1e6

    def close(self) -> None:
        self._client.close()
