"""The durable audit log: every scan's outcome waits in it until the database has it, in
order; the AuditLog contract runs against both logs (in memory, and a Redis stream on the
real server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.db import DatabaseError

from arbitrage.audit import ScanOutcome
from arbitrage.runtime.audit_log import AuditLog, MemoryAuditLog, RedisAuditLog, drain
from tests.factories import opportunity


@pytest.fixture(params=["memory", "redis"])
def log(request: pytest.FixtureRequest) -> Iterator[AuditLog]:
    if request.param == "memory":
        yield MemoryAuditLog()
        return
    request.getfixturevalue("redis_client")
    redis_log = RedisAuditLog(request.getfixturevalue("redis_url"), f"audit-{uuid.uuid4().hex[:8]}")
    yield redis_log
    redis_log.close()


def outcome(scan_id: int) -> ScanOutcome:
    return ScanOutcome(id=scan_id, duration_ms=3.5, books_total=2, books_used=2, opportunities=[opportunity()])


def test_entries_wait_in_order_until_acknowledged(log: AuditLog) -> None:
    for scan_id in (1, 2, 3):
        log.append(outcome(scan_id))
    assert log.size() == 3
    entries = log.pending(2)
    assert [ScanOutcome.from_json(payload).id for _, payload in entries] == [1, 2]
    log.ack([entries[0][0]])
    assert [ScanOutcome.from_json(payload).id for _, payload in log.pending(10)] == [2, 3]


def test_drain_applies_oldest_first_and_stops_at_a_database_error(log: AuditLog) -> None:
    for scan_id in (1, 2, 3):
        log.append(outcome(scan_id))
    applied: list[int] = []

    def database_down_at_2(item: ScanOutcome) -> str:
        if item.id == 2:
            raise DatabaseError("the database went away")
        applied.append(item.id)
        return "applied"

    first = drain(log, database_down_at_2)
    assert applied == [1] and first.applied == 1 and first.left == 2 and "went away" in (first.error or "")
    second = drain(log, lambda item: applied.append(item.id) or "applied")
    assert applied == [1, 2, 3] and second.applied == 2 and second.left == 0 and log.size() == 0


def test_an_outcome_round_trips_through_json_to_the_last_digit() -> None:
    sent = outcome(1_750_000_000_123)
    assert ScanOutcome.from_json(sent.to_json()) == sent


@pytest.mark.parametrize("junk", [b"", b"{not json", b"[]", b'{"id": "x"}', b'{"id": -1, "duration_ms": 1}'])
def test_junk_in_the_log_is_dropped_not_blocking_the_scans_behind_it(log: AuditLog, junk: bytes) -> None:
    if isinstance(log, RedisAuditLog):
        log._client.xadd(log.stream, {b"data": junk})
    else:
        log._entries.append(("memory-junk", junk))
    log.append(outcome(7))
    applied: list[int] = []
    drained = drain(log, lambda item: applied.append(item.id) or "applied")
    assert applied == [7] and drained.corrupt == 1 and log.size() == 0
