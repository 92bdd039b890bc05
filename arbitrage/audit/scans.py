"""Scan records, and the one way a scan reaches the audit: `apply_scan`.

A scan's result travels as a `ScanOutcome` through the durable audit log
(arbitrage.runtime.audit_log), so it outlives the worker that produced it and a database
outage loses nothing. Applying is idempotent per scan id and ordered: under the lock of
the audit cursor, a scan already recorded changes nothing, a scan older than the newest
applied one is recorded as late and leaves the episodes alone, and any other scan folds
into the episodes and moves the cursor, all in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from django.db import transaction

from arbitrage.audit.episodes import record_scan
from arbitrage.engine.types import Opportunity
from arbitrage.models import AuditCursor, ScanRecord

logger = logging.getLogger(__name__)

Applied = Literal["applied", "late", "duplicate"]


@dataclass(slots=True)
class ScanOutcome:
    """What one scan found and how its slice looked, on its way to the audit."""

    id: int  # the scan's time, ms since the epoch
    duration_ms: float
    books_total: int
    books_used: int
    books_stale: int = 0
    books_unhealthy: int = 0
    books_future: int = 0
    books_corrupt: int = 0
    opportunities: list[Opportunity] = field(default_factory=list)
    settings_snapshot: dict[str, Any] = field(default_factory=dict)
    degraded_reason: str = ""  # empty: the scan saw enough usable books
    errors: list[str] = field(default_factory=list)
    shards: int = 1

    @property
    def started_at(self) -> datetime:
        return datetime.fromtimestamp(self.id / 1000, tz=UTC)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | str) -> ScanOutcome:
        """The outcome of `to_json`; ValueError when `data` is not one (a corrupt entry)."""
        try:
            raw = orjson.loads(data)
            fields = dict(raw)
            fields["opportunities"] = [Opportunity.from_dict(item) for item in fields.get("opportunities", ())]
            outcome = cls(**fields)
        except (orjson.JSONDecodeError, TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"not a scan outcome: {exc}") from None
        if isinstance(outcome.id, bool) or not isinstance(outcome.id, int) or outcome.id < 0:
            raise ValueError(f"not a scan outcome: id {outcome.id!r}")
        return outcome


def apply_scan(outcome: ScanOutcome) -> Applied:
    """Record one scan and fold it into the episodes unless a newer one was applied first.
    Raises DatabaseError (nothing is written then; the caller keeps the outcome)."""
    with transaction.atomic():
        cursor, _ = AuditCursor.objects.select_for_update().get_or_create(pk=1)
        if ScanRecord.objects.filter(pk=outcome.id).exists():
            return "duplicate"
        late = outcome.id <= cursor.last_scan_id
        if not late:
            record_scan(outcome.opportunities, outcome.started_at, outcome.settings_snapshot)
            cursor.last_scan_id = outcome.id
            cursor.save(update_fields=["last_scan_id"])
        previous = ScanRecord.objects.filter(pk__lt=outcome.id).order_by("-pk").values_list("pk", flat=True).first()
        ScanRecord.objects.create(
            id=outcome.id,
            started_at=outcome.started_at,
            duration_ms=outcome.duration_ms,
            books_total=outcome.books_total,
            books_used=outcome.books_used,
            books_stale=outcome.books_stale,
            books_unhealthy=outcome.books_unhealthy,
            books_future=outcome.books_future,
            books_corrupt=outcome.books_corrupt,
            opportunities=len(outcome.opportunities),
            degraded=bool(outcome.degraded_reason),
            degraded_reason=outcome.degraded_reason[:200],
            errors=outcome.errors,
            shards=outcome.shards,
            status=ScanRecord.Status.LATE if late else ScanRecord.Status.APPLIED,
            gap_before_ms=None if previous is None else outcome.id - previous,
        )
    if late:
        logger.warning(
            "a scan reached the audit after a newer one: recorded, episodes left alone",
            extra={"scan": outcome.id, "newest_applied": cursor.last_scan_id},
        )
    return "late" if late else "applied"
