"""Each long-running process serves its own Prometheus metrics, so none vanishes because it
was counted in another process (docs/design.md, "Observability"):

- the web process at /metrics (ops.views);
- the Celery worker, beat, ingest and the Telegram bot on `METRICS_PORT` (ingest also
  takes `--metrics-port`).

A Celery worker counts in its pool's child processes, which the parent serves: with
`PROMETHEUS_MULTIPROC_DIR` set (before the worker starts, so every process writes there),
the parent reads every child's figures from that directory (prometheus_client's
multiprocess mode). The directory is emptied when the worker starts.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV, "")
    return Path(value) if value else None


def metrics_registry() -> CollectorRegistry:
    """What to expose: this process's registry, or every process's under multiprocess mode."""
    if multiprocess_dir() is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def ensure_multiprocess_dir() -> None:
    """The directory exists before any metric is defined: prometheus_client opens its files
    there at once (in a worker, while Celery imports the tasks, before any signal fires)."""
    directory = multiprocess_dir()
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)


def reset_multiprocess_dir() -> None:
    """Forget the figures of a previous run (its processes are gone, their files stay)."""
    directory = multiprocess_dir()
    if directory is None:
        return
    if directory.exists():
        for child in directory.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)


def process_exited(pid: int) -> None:
    """A pool process is gone: its live gauges stop counting."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)


def serve_metrics(port: int, process: str) -> None:
    """Serve http://0.0.0.0:PORT/metrics from a background thread. OSError (port taken)
    is the caller's to report."""
    start_http_server(port, registry=metrics_registry())
    logger.info("serving metrics", extra={"service": process, "port": port, "multiprocess": bool(multiprocess_dir())})
