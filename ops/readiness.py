"""What /readyz checks: can this deployment do its job now?

- `database`: a query answers;
- `redis`: the scan status can be read (in embedded mode there is no Redis to reach);
- `scan`: a scan ran within three intervals;
- `books`: that scan was not degraded (it could use enough books).
Each check says why it failed, in words an operator can act on.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from arbitrage.runtime.config import scan_interval_sec
from arbitrage.runtime.feed import ScanStatus
from arbitrage.runtime.status import latest_status
from exchanges.store.base import StoreUnavailable
from kernel.clock import now_ms

Check = dict[str, Any]  # {"ok": bool, "detail": str}


def _database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        close_old_connections()
        return {"ok": False, "detail": f"the database does not answer: {str(exc).strip()[:200]}"}
    return {"ok": True, "detail": "answers"}


def readiness() -> dict[str, Check]:
    checks = {"database": _database()}
    status: ScanStatus | None = None
    try:
        status = latest_status()
    except StoreUnavailable as exc:
        checks["redis"] = {"ok": False, "detail": str(exc)[:300]}
    else:
        checks["redis"] = {"ok": True, "detail": "answers" if settings.REDIS_URL else "embedded mode: no Redis"}
    interval = scan_interval_sec()
    if status is None:
        checks["scan"] = {"ok": False, "detail": "no scan yet: is the Celery worker (and beat) running?"}
        checks["books"] = {"ok": False, "detail": "no scan yet"}
        return checks
    age_sec = (now_ms() - status.ts) / 1000
    fresh = age_sec <= 3 * interval
    checks["scan"] = {
        "ok": fresh,
        "detail": f"the last scan was {age_sec:.1f} s ago"
        + ("" if fresh else f"; scans are due every {interval:g} s: are the worker and beat running?"),
    }
    checks["books"] = {
        "ok": not status.degraded,
        "detail": f"degraded: {status.degraded_reason}"
        if status.degraded
        else f"{status.books_used} of {status.books_total} books used",
    }
    return checks
