"""Celery tasks: the periodic scan (beat -> worker)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from arbitrage.runtime import run_scan, scan_guard

logger = logging.getLogger(__name__)


@shared_task(name="arbitrage.tasks.scan", ignore_result=True)
def scan() -> dict[str, Any]:
    """One scan over the coherent slice. Skips (does not queue) while another is running."""
    with scan_guard() as acquired:
        if not acquired:
            logger.warning("scan skipped: the previous scan is still running")
            return {"skipped": True}
        return run_scan().as_dict()
