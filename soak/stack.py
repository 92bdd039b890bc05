"""The full stack as the README runs it, each service a process group of its own that the
soak can kill, restart and weigh: two ingest processes (ccxt against the fake exchanges,
and the simulated venues), two Celery workers, beat and daphne, on a throwaway Redis and
PostgreSQL."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests import REPO, free_port

logger = logging.getLogger("soak")

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def group_rss_kb(pgid: int) -> int:
    """Resident memory of every process in a process group (a worker and its pool)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name may hold spaces: the fields that follow start after its ")".
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            total += int(fields[21]) * PAGE_KB
    return total


@dataclass
class Service:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        log = (self.log_dir / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            self.argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_kb(self) -> int:
        return group_rss_kb(self.proc.pid) if self.alive and self.proc is not None else 0

    def kill(self) -> None:
        """SIGKILL to the whole group, as the kernel's OOM killer or a lost host would."""
        if self.proc is not None and self.alive:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or not self.alive:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("%s ignored SIGTERM for %g s: killing it", self.name, timeout)
            self.kill()


@dataclass
class Stack:
    redis_url: str
    database_url: str
    home: Path
    ccxt_exchanges: list[str]
    simulated_exchanges: list[str]
    symbols: list[str]
    web_port: int = field(default_factory=free_port)
    services: dict[str, Service] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        broker = self.redis_url.rsplit("/", 1)[0] + "/1"  # the queue apart from the books, as in compose
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "soak-only-secret-key-not-for-production-0123456789",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": broker,
            "CELERY_RESULT_BACKEND": broker,
            "CCXT_CONFIG_FILE": str(self.home / "ccxt.json"),
            "LOG_LEVEL": "WARNING",
            # Plain HTTP on 127.0.0.1: no nginx in front to terminate TLS.
            "SECURE_SSL_REDIRECT": "0",
            "PYTHONUNBUFFERED": "1",
            # No fee sync from beat: the soak has no internet, only its fake and simulated venues.
            "FEE_SYNC_PERIOD_SEC": "0",
        }

    def manage(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=self.environment(), capture_output=True, text=True
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-2000:]}")

    def prepare(self, username: str, password: str) -> float:
        """Migrate, add the soak's user; the scan interval in force, in seconds."""
        self.manage("migrate", "--no-input")
        script = (
            "from django.contrib.auth import get_user_model as g\n"
            "from arbitrage.models import ScannerSettings\n"
            f"g().objects.filter(username={username!r}).exists() or "
            f"g().objects.create_user({username!r}, password={password!r})\n"
            "print(ScannerSettings.current().scan_interval_sec)\n"
        )
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=REPO,
            env=self.environment(),
            capture_output=True,
            text=True,
            check=True,
        )
        return float(done.stdout.split()[-1])

    def define(self) -> None:
        python, env, logs = sys.executable, self.environment(), self.home / "logs"
        logs.mkdir(exist_ok=True)
        symbols = ",".join(self.symbols)
        celery = [python, "-m", "celery", "-A", "config"]
        # As docker-compose.yml runs it (no gossip, mingle or event heartbeats).
        worker = [
            *celery,
            "worker",
            "-l",
            "warning",
            "-c",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        commands = {
            "ingest-ccxt": [python, "manage.py", "ingest", "--connector", "ccxt", "--exchanges",
                            ",".join(self.ccxt_exchanges), "--symbols", symbols, "--progress-every", "60"],
            "ingest-simulated": [python, "manage.py", "ingest", "--connector", "simulated", "--exchanges",
                                 ",".join(self.simulated_exchanges), "--symbols", symbols,
                                 "--progress-every", "60"],
            # Two workers, as a deployment that survives losing one would run.
            "worker-1": [*worker, "-n", "soak1@%h"],
            "worker-2": [*worker, "-n", "soak2@%h"],
            "beat": [*celery, "beat", "-l", "warning"],
            "daphne": [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.web_port), "config.asgi:application"],
        }  # fmt: skip
        self.services = {name: Service(name, argv, env, logs) for name, argv in commands.items()}

    def start_all(self) -> None:
        for service in self.services.values():
            service.start()

    def stop_all(self) -> None:
        for service in self.services.values():
            service.stop()

    def rss_kb(self) -> dict[str, int]:
        return {name: service.rss_kb() for name, service in self.services.items()}
