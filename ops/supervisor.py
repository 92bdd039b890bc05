"""Running the full stack's processes from one terminal: each one started with its own
environment, its output prefixed with its name, all stopped by one Ctrl-C (SIGTERM to
each, then SIGKILL to what is left after a grace period). One that dies on its own stops
the rest: a half-running stack is worse than a clear failure."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

logger = logging.getLogger(__name__)

GRACE_SEC = 20.0


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    proc: subprocess.Popen[str] | None = field(default=None, repr=False)


def _relay(name: str, stream: IO[str], out: IO[str], width: int) -> None:
    for line in stream:
        out.write(f"{name:<{width}} | {line}")
        out.flush()


class Supervisor:
    def __init__(self, children: Sequence[Child], cwd: str, out: IO[str] = sys.stderr) -> None:
        self.children = list(children)
        self.cwd, self.out = cwd, out
        self._stop = threading.Event()
        self._width = max(len(c.name) for c in self.children)

    def start(self) -> None:
        for child in self.children:
            child.proc = subprocess.Popen(
                list(child.argv),
                cwd=self.cwd,
                env=dict(child.env),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                start_new_session=True,  # a Ctrl-C reaches us only; we stop them in order
            )
            assert child.proc.stdout is not None
            threading.Thread(
                target=_relay, args=(child.name, child.proc.stdout, self.out, self._width), daemon=True
            ).start()

    def stop(self, *_: object) -> None:
        self._stop.set()

    def wait(self) -> int:
        """Until a stop is asked or a process exits; then stop them all. The exit status: 0
        for a requested stop, 1 when a process ended on its own."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.stop)
        died: Child | None = None
        while not self._stop.is_set() and died is None:
            died = next((c for c in self.children if c.proc is not None and c.proc.poll() is not None), None)
            self._stop.wait(0.2)
        if died is not None and died.proc is not None:
            logger.error(
                "a process ended on its own: stopping the others",
                extra={"service": died.name, "exit_status": died.proc.returncode},
            )
        self.terminate()
        return 0 if died is None else 1

    def terminate(self) -> None:
        running = [c for c in self.children if c.proc is not None and c.proc.poll() is None]
        for child in running:
            assert child.proc is not None
            os.killpg(child.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SEC
        for child in running:
            assert child.proc is not None
            try:
                child.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("a process ignored SIGTERM: killing it", extra={"service": child.name})
                os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait()
