"""The Celery application: configuration comes from Django settings (CELERY_ namespace)."""

import os
from typing import Any

from celery import Celery
from celery.app.amqp import AMQP
from celery.signals import beat_init, setup_logging, worker_init, worker_process_shutdown
from kombu import Connection

from cli.exporter import ensure_multiprocess_dir

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
ensure_multiprocess_dir()


class _PromptReconnection(Connection):
    """A worker back on the broker within a second of its return. kombu waits 2, 4, 6...
    seconds between tries, so a 5 s Redis restart cost up to 3 s more of missed scans; a
    try every 0.2-0.5 s is nothing to a broker that is up again, and every tenth of a
    second counts against the soak's bound (one interval beyond the fault)."""

    def ensure_connection(self, *args: Any, **kwargs: Any) -> Connection:  # type: ignore[override]
        if len(args) <= 2:  # (errback, max_retries): the intervals are left to us
            kwargs = {"interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.5, **kwargs}
        return super().ensure_connection(*args, **kwargs)


class _Amqp(AMQP):
    Connection = _PromptReconnection


app = Celery("arbscan", amqp=_Amqp)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _keep_the_project_logging(loglevel: int | str | None = None, **kwargs: Any) -> None:
    """Celery would install its own handlers and format (and drop the `extra` fields); a
    receiver of this signal makes it keep Django's LOGGING (config/settings.py): the same
    structured lines in the worker and beat as everywhere else. `-l LEVEL` still applies."""
    import logging
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


@worker_init.connect
def _start_worker(**kwargs: Any) -> None:
    from cli.exporter import reset_multiprocess_dir
    from kernel.gc_tuning import tune_gc

    tune_gc()
    reset_multiprocess_dir()  # before the pool starts writing to it
    _serve_metrics("worker")


@worker_process_shutdown.connect
def _pool_process_gone(pid: int | None = None, **kwargs: Any) -> None:
    from cli.exporter import process_exited

    if pid is not None:
        process_exited(pid)


@beat_init.connect
def _start_beat(**kwargs: Any) -> None:
    _serve_metrics("beat")


def _serve_metrics(process: str) -> None:
    """On METRICS_PORT when set (cli.exporter). A taken port costs the metrics, not the
    process: it is logged and the work goes on."""
    import logging

    from django.conf import settings

    from cli.exporter import multiprocess_dir, serve_metrics

    port = int(settings.METRICS_PORT)
    if not port:
        return
    if process == "worker" and multiprocess_dir() is None and app.conf.worker_pool in (None, "prefork"):
        logging.getLogger(__name__).warning(
            "the pool's scans count in its own processes: set PROMETHEUS_MULTIPROC_DIR (an empty directory) "
            "before starting the worker, or its metrics show only the parent process"
        )
    try:
        serve_metrics(port, process)
    except OSError as exc:
        logging.getLogger(__name__).error(
            "metrics not served: METRICS_PORT is taken or not allowed",
            extra={"service": process, "port": port, "error": str(exc)},
        )


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
    # Every pair worth watching, for whole-market mode (exchanges.tasks.discover_markets); 0: off.
    discovery_period = float(settings.MARKET_DISCOVERY_PERIOD_SEC)
    if discovery_period > 0:
        sender.add_periodic_task(
            discovery_period,
            sender.signature("exchanges.tasks.discover_markets", options={"expires": discovery_period}),
            name="market discovery",
        )
    # Withdrawal networks and fees from the exchanges (exchanges.tasks.sync_fees); 0: off.
    fee_sync_period = float(settings.FEE_SYNC_PERIOD_SEC)
    if fee_sync_period > 0:
        sender.add_periodic_task(
            fee_sync_period,
            sender.signature("exchanges.tasks.sync_fees", options={"expires": fee_sync_period}),
            name="fee sync",
        )
