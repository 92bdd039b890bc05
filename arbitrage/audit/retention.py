"""The one way audit rows leave the database: after `AUDIT_RETENTION_DAYS`, scan records
and closed episodes (with what Telegram sent about them) are deleted, and the counts are
logged. Open episodes stay whatever their age. Nothing else deletes audit rows: admin and
the API only read them."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from arbitrage.models import Episode, ScanRecord

logger = logging.getLogger(__name__)


def prune_audit(keep_days: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete audit rows older than `keep_days` days (0 keeps everything); returns the rows
    deleted per table (Django's model labels)."""
    if keep_days <= 0:
        return {}
    cutoff = (now or timezone.now()) - dt.timedelta(days=keep_days)
    removed: dict[str, int] = {}
    with transaction.atomic():
        for queryset in (
            ScanRecord.objects.filter(started_at__lt=cutoff),
            Episode.objects.filter(is_open=False, closed_at__lt=cutoff),
        ):
            _, per_model = queryset.delete()
            for label, count in per_model.items():
                removed[label] = removed.get(label, 0) + count
    logger.info(
        "audit pruned",
        extra={"older_than": cutoff.isoformat(timespec="seconds"), "keep_days": keep_days, **removed},
    )
    return removed
