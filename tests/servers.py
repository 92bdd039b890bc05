"""Throwaway Redis and PostgreSQL servers, each on its own port with its own data, that a
test or the soak may crash and restart (never the shared servers on 6379 and 5432)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests import free_port


class ServerMissing(RuntimeError):
    """The server's program is not installed (`make test` installs it)."""


def wait_for_port(port: int, what: str, limit_sec: float = 15.0) -> None:
    deadline = time.monotonic() + limit_sec
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening on 127.0.0.1:{port} within {limit_sec:g} s")


class RedisServer:
    """redis-server without persistence: a restart loses everything, as in production."""

    def __init__(self, port: int | None = None) -> None:
        program = shutil.which("redis-server")
        if program is None:
            raise ServerMissing("redis-server is not installed (make test installs it)")
        self.program, self.port = program, port or free_port()
        self.home = Path(tempfile.mkdtemp(prefix="arbscan-redis-"))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self) -> None:
        command = [self.program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._proc = subprocess.Popen([*command, "--dir", str(self.home)], stdout=subprocess.DEVNULL)
        wait_for_port(self.port, "the throwaway redis")

    def stop(self) -> None:
        """A crash: SIGKILL, nothing saved."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(10)
            self._proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise ServerMissing("PostgreSQL's server is not installed (make test installs it)")
    return found[-1].parent


class PostgresServer:
    """A cluster of its own (initdb: about a second) with an empty `database`."""

    database = "arbscan"

    def __init__(self, port: int | None = None) -> None:
        self.bin, self.port = _postgres_bin(), port or free_port()
        # Not under pytest's tmp dir, which is private to the user running the tests:
        # PostgreSQL refuses to run as root, so as root it runs as the postgres user.
        self.home = Path(tempfile.mkdtemp(prefix="arbscan-pg-"))
        self.data = self.home / "data"
        self._run_as = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        if self._run_as:
            shutil.chown(self.home, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.database)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [*self._run_as, str(self.bin / program), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", *args)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-l", str(self.home / "server.log"), "-o", options, "start")

    def stop(self) -> None:
        """A crash: immediate shutdown, no checkpoint (recovery runs on the next start)."""
        self._pg_ctl("-m", "immediate", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
