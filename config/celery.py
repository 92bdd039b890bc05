"""The Celery application: configuration comes from Django settings (CELERY_ namespace)."""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("arbscan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _tune_worker(**kwargs: Any) -> None:
    from kernel.gc_tuning import tune_gc

    tune_gc()


@app.on_after_finalize.connect
def setup_periodic_tasks(sender: Celery, **kwargs: Any) -> None:
    from django.conf import settings

    from arbitrage.runtime.schedules import ScannerIntervalSchedule

    # A scan request older than this is useless (the next one is on its way): drop it
    # rather than let a backlog of scans pile up behind a slow worker.
    expires = settings.CELERY_SCAN_TASK_EXPIRES_SEC
    sender.add_periodic_task(
        ScannerIntervalSchedule(), sender.signature("arbitrage.tasks.scan", options={"expires": expires}), name="scan"
    )
    # The audit's retention: the only deletion of audit rows, logged.
    sender.add_periodic_task(24 * 3600.0, sender.signature("arbitrage.tasks.prune_audit"), name="audit retention")
    # Telegram digests: the task itself does nothing (logged once) without a bot token.
    digest_period = settings.TELEGRAM_DIGEST_PERIOD_SEC
    sender.add_periodic_task(
        digest_period,
        sender.signature("notifications.tasks.send_digests", options={"expires": digest_period}),
        name="telegram digest",
    )
    # Instant subscribers: a new episode reaches them within a few seconds, not a digest period.
    instant_period = settings.TELEGRAM_INSTANT_PERIOD_SEC
    sender.add_periodic_task(
        instant_period,
        sender.signature("notifications.tasks.send_instant", options={"expires": instant_period}),
        name="telegram instant",
    )
