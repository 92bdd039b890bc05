"""The durable audit log: every scan's outcome waits here until the database has it.

A scan appends its outcome, then drains the log in order into the audit (`drain`): each
entry is applied (arbitrage.audit.apply_scan, idempotent and ordered) and only then
acknowledged. While the database is away the entries stay, in Redis in full mode, so a
worker that dies meanwhile loses nothing: whichever worker scans next writes them all, in
order, once the database is back. The log is capped (`AUDIT_LOG_MAXLEN`): an outage longer
than that many scans loses the oldest, and says so.

Two logs share one contract (tests/arbitrage/runtime/test_audit_log.py): `RedisAuditLog`
(a stream) and `MemoryAuditLog` (the demo's process).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from django.db import DatabaseError, close_old_connections

from arbitrage.audit.scans import Applied, ScanOutcome
from exchanges.store.redis_store import redis_client, talking_to
from kernel.text import brief, redact_url

logger = logging.getLogger(__name__)

Entry = tuple[str, bytes]  # (entry id, the outcome's JSON)
_DATA = b"data"


class AuditLog(Protocol):
    def append(self, outcome: ScanOutcome) -> None:
        """Keep one outcome until it is applied. Raises StoreUnavailable."""
        ...

    def pending(self, count: int) -> list[Entry]:
        """The oldest `count` entries not yet acknowledged. Raises StoreUnavailable."""
        ...

    def ack(self, entry_ids: Sequence[str]) -> None:
        """Forget applied entries. Raises StoreUnavailable."""
        ...

    def size(self) -> int:
        """How many entries wait. Raises StoreUnavailable."""
        ...

    def close(self) -> None: ...


class MemoryAuditLog:
    def __init__(self, maxlen: int = 10_000) -> None:
        self._guard = threading.Lock()
        self._entries: deque[Entry] = deque(maxlen=maxlen)
        self._next = 0

    def append(self, outcome: ScanOutcome) -> None:
        with self._guard:
            self._next += 1
            self._entries.append((f"memory-{self._next}", outcome.to_json()))

    def pending(self, count: int) -> list[Entry]:
        with self._guard:
            return list(self._entries)[:count]

    def ack(self, entry_ids: Sequence[str]) -> None:
        done = set(entry_ids)
        with self._guard:
            self._entries = deque((e for e in self._entries if e[0] not in done), maxlen=self._entries.maxlen)

    def size(self) -> int:
        with self._guard:
            return len(self._entries)

    def close(self) -> None:
        """Nothing to release; here so both logs can be closed alike."""


class RedisAuditLog:
    def __init__(self, url: str, stream: str = "audit", maxlen: int = 10_000) -> None:
        self.url = redact_url(url)
        self.stream = stream
        self.maxlen = maxlen
        self._client = redis_client(url, client_name="arbscan-audit")

    def __repr__(self) -> str:
        return f"RedisAuditLog({self.url!r}, stream={self.stream!r})"

    def append(self, outcome: ScanOutcome) -> None:
        with talking_to(self.url, "append to the audit log"):
            self._client.xadd(self.stream, {_DATA: outcome.to_json()}, maxlen=self.maxlen, approximate=True)

    def pending(self, count: int) -> list[Entry]:
        with talking_to(self.url, "read the audit log"):
            entries = self._client.xrange(self.stream, count=count) or []
        return [(_text(entry_id), _bytes((fields or {}).get(_DATA))) for entry_id, fields in entries]

    def ack(self, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            with talking_to(self.url, "trim the audit log"):
                self._client.xdel(self.stream, *entry_ids)

    def size(self) -> int:
        with talking_to(self.url, "read the audit log"):
            return int(self._client.xlen(self.stream))

    def close(self) -> None:
        self._client.close()


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bytes(value: bytes | str | None) -> bytes:
    return value.encode() if isinstance(value, str) else value or b""


@dataclass(slots=True)
class Drained:
    """What one drain did."""

    applied: int = 0
    late: int = 0
    duplicate: int = 0
    corrupt: int = 0
    left: int = 0  # entries still waiting (the database failed)
    error: str | None = None
    outcomes: dict[int, Applied] = field(default_factory=dict)  # by scan id


def drain(log: AuditLog, apply: Callable[[ScanOutcome], Applied], batch: int = 100) -> Drained:
    """Apply waiting entries oldest first, acknowledging each once the database has it.
    Stops at the first database error (the rest wait for the next drain). Raises
    StoreUnavailable when the log itself cannot be read."""
    report = Drained()
    while True:
        entries = log.pending(batch)
        if not entries:
            return report
        done: list[str] = []
        try:
            for entry_id, payload in entries:
                try:
                    outcome = ScanOutcome.from_json(payload)
                except ValueError as exc:
                    # Junk must not block the scans behind it: dropped, loudly.
                    logger.error("corrupt audit log entry dropped", extra={"entry": entry_id, "error": str(exc)[:200]})
                    logger.debug("corrupt audit log entry", extra={"value": brief(payload, 200)})
                    report.corrupt += 1
                    done.append(entry_id)
                    continue
                result = apply(outcome)
                report.outcomes[outcome.id] = result
                setattr(report, result, getattr(report, result) + 1)
                done.append(entry_id)
        except DatabaseError as exc:
            close_old_connections()
            report.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        finally:
            log.ack(done)
        if report.error is not None:
            report.left = log.size()
            return report
