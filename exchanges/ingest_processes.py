"""`manage.py ingest --processes N`: N ingest processes on this host over disjoint shards of
the symbols, supervised by the one the user started.

Each child is the same command with `--processes 1` and a shard of its own: with `--shard
i/n` (this host's share of a fleet) child j of N takes shard `i + n*j` of `n*N`, which is
exactly the symbols of shard i/n split N ways (a symbol's crc32 mod n*N, taken mod n, is its
crc32 mod n). A child that dies is started again after a backoff; Ctrl-C or SIGTERM to the
supervisor stops every child (each one stops cleanly: its books marked unhealthy) and then
itself. With `--metrics-port P` child j serves its metrics on P + j.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from exchanges.connectors.symbols import Shard

logger = logging.getLogger("exchanges.ingest")

MANAGE = Path(__file__).resolve().parent.parent / "manage.py"
STOP_GRACE_SEC = 20.0
RESTART_FIRST_SEC = 1.0
RESTART_MAX_SEC = 30.0
HEALTHY_AFTER_SEC = 60.0  # a child that lived this long starts its next backoff from scratch


def child_shards(shard: Shard | None, processes: int) -> list[Shard]:
    outer = shard or Shard(0, 1)
    return [Shard(outer.index + outer.count * j, outer.count * processes) for j in range(processes)]


@dataclass
class Child:
    shard: Shard
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: int = 0
    next_start: float = 0.0
    failures: int = 0
    exits: list[int] = field(default_factory=list)

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(MANAGE), "ingest", *self.argv])
        self.started = time.monotonic()
        logger.info("ingest child started", extra={"shard": str(self.shard), "pid": self.process.pid})


def supervise(
    argv_for: dict[Shard, list[str]], stop: threading.Event, poll_sec: float = 0.2, *, finite: bool = False
) -> list[Child]:
    """Run one child per shard until `stop` is set; returns the children (their exits).
    `finite` (the children have a --duration): a child that exits cleanly has finished, and
    the run ends when all have."""
    children = [Child(shard, argv) for shard, argv in argv_for.items()]
    for child in children:
        child.start()
    try:
        while not stop.wait(poll_sec):
            now = time.monotonic()
            for child in children:
                if child.process is None:
                    if now >= child.next_start:
                        child.restarts += 1
                        child.start()
                    continue
                code = child.process.poll()
                if code is None:
                    continue
                child.exits.append(code)
                if finite and code == 0:
                    child.process, child.next_start = None, float("inf")
                    logger.info("ingest child finished", extra={"shard": str(child.shard)})
                    continue
                lived = now - child.started
                child.failures = 1 if lived >= HEALTHY_AFTER_SEC else child.failures + 1
                delay = min(RESTART_MAX_SEC, RESTART_FIRST_SEC * 2 ** (child.failures - 1))
                child.process, child.next_start = None, now + delay
                logger.warning(
                    "ingest child exited; starting it again after backoff",
                    extra={"shard": str(child.shard), "exit_code": code, "restart_in_sec": delay},
                )
            if finite and all(c.process is None and c.next_start == float("inf") for c in children):
                break
    finally:
        _stop_all(children)
    return children


def _stop_all(children: Sequence[Child]) -> None:
    running = [c for c in children if c.process is not None and c.process.poll() is None]
    for child in running:
        assert child.process is not None
        child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SEC
    for child in running:
        assert child.process is not None
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.error("ingest child did not stop in time: killed", extra={"shard": str(child.shard)})
            child.process.kill()
            child.process.wait(timeout=10)
        child.exits.append(child.process.returncode)


def child_argv(options: dict[str, object], shard: Shard, index: int) -> list[str]:
    """The command line of one child: the user's ccxt flags, its shard, and its own metrics
    port (the supervisor's + index) when metrics are served."""
    argv = ["--connector", "ccxt", "--processes", "1", "--shard", str(shard)]
    for name in ("ccxt_config", "reload_every", "flush_interval", "duration", "progress_every"):
        value = options.get(name)
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    for name in ("symbols", "exchanges"):
        value = options.get(name)
        if value:
            argv += [f"--{name}", ",".join(str(v) for v in value)]  # type: ignore[attr-defined]
    port = options.get("metrics_port")
    if isinstance(port, int):
        argv += ["--metrics-port", str(port + index)]
    return argv
