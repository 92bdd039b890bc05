"""Celery tasks: the periodic scan (beat -> worker), whole or split into shards.

With `SCAN_SHARDS` = n > 1 (and services shared by every process: Redis) the beat task
does not scan: it takes the scan lock, reads the settings once, and sends a chord: n
`scan_shard` tasks for one `now_ms` (see arbitrage.runtime.sharding), then `merge_scan`, which records and publishes the
merged result exactly as `run_scan` does and frees the lock. The lock is held from the
fan-out to the merge, so a slow scan's shards never pile up behind it.

A scan missing a shard is dropped whole: recording the shards that did answer would close
the episodes of the one that did not. A shard that fails cleanly answers with its error
and the merge drops the scan; a shard that never answers (expired in the queue, worker
lost) fails the chord, and `scan_shards_failed` drops it; a worker that dies without a
trace leaves the lock to expire. Either way the next scan proceeds.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from celery import chord, group, shared_task
from celery.result import AsyncResult
from django.conf import settings

from arbitrage import metrics
from arbitrage.audit import retention
from arbitrage.engine.types import ScanParams
from arbitrage.runtime.config import load_config, scan_lease_sec
from arbitrage.runtime.lock import Renewer, scan_guard
from arbitrage.runtime.scan import ScanReport, record_and_publish, run_scan
from arbitrage.runtime.services import Services, get_services
from arbitrage.runtime.sharding import (
    IncompleteScan,
    ShardResult,
    config_from_wire,
    config_to_wire,
    merge_shards,
    run_shard,
)
from exchanges.store.base import StoreUnavailable

logger = logging.getLogger(__name__)


@shared_task(name="arbitrage.tasks.scan", ignore_result=True)
def scan() -> dict[str, Any]:
    """One scan over the coherent slice. Skips (does not queue) while another is running."""
    shards = int(settings.SCAN_SHARDS)
    services = get_services()
    if shards > 1:
        if services.shared:
            return fan_out(services, shards)
        logger.warning("SCAN_SHARDS needs the Redis book store (REDIS_URL): scanning in one process")
    with scan_guard(services.lock, scan_lease_sec()) as acquired:
        if not acquired:
            logger.warning("scan skipped: the previous scan is still running")
            return {"skipped": True}
        return run_scan(services=services).as_dict()


def shard_task_ids(label: str, shards: int) -> list[str]:
    """The shard tasks' ids: they name the shard in Celery's logs and errors."""
    return [f"{label}-shard-{shard}-of-{shards}" for shard in range(shards)]


def _forget_shards(label: str, shards: int) -> None:
    # The result backend would keep each shard's result (every opportunity it found) for
    # a day: 17,280 scans' worth. The merge has them; drop them now.
    for task_id in shard_task_ids(label, shards):
        with contextlib.suppress(Exception):  # only memory is at stake, never the scan
            AsyncResult(task_id, app=scan_shard.app).forget()


def fan_out(services: Services, shards: int) -> dict[str, Any]:
    """Send one sharded scan (the shards and their merge) unless a scan is running. The
    scan lease is taken here, renewed by each shard while it works and by the merge, and
    freed by the merge: a worker that dies mid-scan lets it expire within one interval."""
    lease_sec = scan_lease_sec()
    try:
        token = services.lock.acquire(lease_sec)
    except StoreUnavailable:
        return run_scan(services=services).as_dict()  # it reports the outage like any scan
    if token is None:
        logger.warning("scan skipped: the previous scan is still running")
        return {"skipped": True}
    started = time.time()
    now_ms = int(started * 1000)
    errors: list[str] = []
    params, fees = load_config(errors)
    config = config_to_wire(params, fees)
    expires = float(settings.CELERY_SCAN_TASK_EXPIRES_SEC)
    label = f"scan-{now_ms}-{token[:8]}"
    header = group(
        scan_shard.si(shard=shard, shards=shards, now_ms=now_ms, config=config, token=token, lease_sec=lease_sec).set(
            task_id=task_id, expires=expires
        )
        for shard, task_id in enumerate(shard_task_ids(label, shards))
    )
    body = merge_scan.s(
        now_ms=now_ms,
        shards=shards,
        label=label,
        token=token,
        lease_sec=lease_sec,
        started=started,
        params=config["params"],
        errors=errors,
    ).on_error(scan_shards_failed.s(now_ms=now_ms, shards=shards, label=label, token=token))
    try:
        chord(header, body).apply_async()
    except Exception as exc:  # the broker refused it: nothing was sent, nothing will merge
        services.lock.release(token)
        logger.error("sharded scan not sent", extra={"ts": now_ms, "error": str(exc)})
        metrics.SCANS.labels("not_sent").inc()
        return {"sent": False, "ts": now_ms, "error": str(exc)}
    return {"sent": True, "ts": now_ms, "shards": shards}


@shared_task(name="arbitrage.tasks.scan_shard")
def scan_shard(
    *, shard: int, shards: int, now_ms: int, config: dict[str, Any], token: str = "", lease_sec: float = 0.0
) -> dict[str, Any]:
    """One shard of a sharded scan, renewing the scan's lease while it works; its result
    (JSON) goes to the merge."""
    services = get_services()
    if not services.shared:
        return ShardResult(shard, shards, error="a sharded scan needs the Redis book store").as_dict()
    params, fees = config_from_wire(config)
    renewer = Renewer(services.lock, token, lease_sec) if token and lease_sec else None
    try:
        return run_shard(services.store, shard, shards, now_ms, params, fees).as_dict()
    finally:
        if renewer is not None:
            renewer.stop()


@shared_task(name="arbitrage.tasks.merge_scan", ignore_result=True)
def merge_scan(
    results: list[dict[str, Any]],
    *,
    now_ms: int,
    shards: int,
    label: str,
    token: str,
    started: float,
    params: dict[str, Any],
    errors: list[str],
    lease_sec: float = 0.0,
) -> dict[str, Any]:
    """The chord's end: merge the shards, record and publish as `run_scan` does, and free
    the scan lock. Records nothing unless every shard answered."""
    report = ScanReport(ok=False, ts=now_ms, errors=list(errors))
    services = get_services()
    try:
        if not services.shared:  # settings changed under a running scan
            return _dropped(report, shards, "the book store is no longer Redis")
        try:
            held = services.lock.renew(token, lease_sec) if lease_sec else services.lock.held(token)
        except StoreUnavailable as exc:
            return _dropped(report, shards, str(exc))
        if not held:
            # The lease expired: a newer scan may have started, and this older one is not
            # recorded after it (the audit would file it as late anyway).
            return _dropped(report, shards, "its scan lease expired before the merge")
        try:
            merged = merge_shards([ShardResult.from_dict(item) for item in results], shards)
        except IncompleteScan as exc:
            return _dropped(report, shards, str(exc))
        report.books_total = merged.books_total
        report.books_used = merged.books_used
        report.corrupt_books = merged.corrupt_books
        return record_and_publish(
            report,
            merged.opportunities,
            ScanParams(**params),
            services,
            book_counts=merged.per_exchange,
            persist=True,
            publish=True,
            started=started,
            clock=time.time,
            shards=shards,
        ).as_dict()
    finally:
        _forget_shards(label, shards)
        services.lock.release(token)


@shared_task(name="arbitrage.tasks.scan_shards_failed", ignore_result=True)
def scan_shards_failed(
    request: Any, exc: BaseException, traceback: Any, *, now_ms: int, shards: int, label: str, token: str
) -> None:
    """Called by Celery when a shard task itself failed (expired, worker lost): the merge
    will never run, so drop the scan here and free the lock."""
    try:
        _dropped(ScanReport(ok=False, ts=now_ms), shards, f"a shard did not finish: {exc}")
    finally:
        _forget_shards(label, shards)
        get_services().lock.release(token)


def _dropped(report: ScanReport, shards: int, reason: str) -> dict[str, Any]:
    report.errors.append(f"sharded scan dropped, nothing recorded or published: {reason}")
    logger.error(
        "sharded scan dropped: nothing recorded or published; the next scan proceeds",
        extra={"ts": report.ts, "shards": shards, "reason": reason},
    )
    metrics.SCANS.labels("incomplete").inc()
    return report.as_dict()


@shared_task(name="arbitrage.tasks.prune_audit", ignore_result=True)
def prune_audit() -> dict[str, int]:
    """Daily: the audit's retention (arbitrage.audit.retention)."""
    return retention.prune_audit(int(settings.AUDIT_RETENTION_DAYS))
