"""Shared fixtures. Tests that need Redis or PostgreSQL use the real servers; they are
skipped only outside CI when the server is not there (and never skipped when CI is set)."""

from __future__ import annotations

import gc
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests import free_port

IN_CI = bool(os.environ.get("CI"))


def _unavailable(what: str, why: str) -> None:
    message = f"{what} is not available ({why}); run the suite with `make test`, which starts it"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a real Redis database that tests may flush (db 15 by default)."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        _unavailable("Redis at " + url, str(exc))
    return url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def admin(admin_client):  # type: ignore[no-untyped-def]
    """A logged-in superuser's browser on admin."""
    return admin_client


def errors_of(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The errors of an admin change form, by field."""
    form = response.context["adminform"].form
    return {name: [str(e) for e in errs] for name, errs in form.errors.items()}


@pytest.fixture
def requires_postgres(settings) -> None:  # type: ignore[no-untyped-def]
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        _unavailable("PostgreSQL", "DATABASE_URL does not point at PostgreSQL")


@pytest.fixture
def redis_broker(redis_url: str) -> Iterator[None]:
    """Points the project's Celery app at the real Redis as broker and result backend."""
    from config.celery import app

    saved = (app.conf.broker_url, app.conf.result_backend)
    app.conf.update(broker_url=redis_url, result_backend=redis_url)
    yield
    app.conf.update(broker_url=saved[0], result_backend=saved[1])


@contextmanager
def in_process_worker() -> Iterator[None]:
    """A Celery worker on a thread of this process. Its worker_init hook tunes the collector
    for a scanner process (gc.freeze() of everything so far, which makes every later
    decode_books call walk the frozen objects): undone after, for the rest of the suite."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    threshold = gc.get_threshold()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10):
            yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@dataclass
class ThrowawayRedis:
    """A redis-server of the test's own, on its own port, which the test may stop and start
    (never the shared one)."""

    port: int
    start: Callable[[], None]
    stop: Callable[[], None]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def throwaway_redis(tmp_path) -> Iterator[ThrowawayRedis]:  # type: ignore[no-untyped-def]
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (make test installs it)")
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        procs.append(subprocess.Popen([*command, "--dir", str(tmp_path)], stdout=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail("throwaway redis did not start")

    def stop() -> None:
        for proc in procs:
            proc.terminate()
            proc.wait(10)

    start()
    yield ThrowawayRedis(port, start, stop)
    stop()


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL cluster of the test's own, on its own port, which the test may stop and
    start (never the shared one). `database` has the project's tables."""

    port: int
    database: str
    start: Callable[[], None]
    stop: Callable[[], None]


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if not found:
        pytest.fail("PostgreSQL's server is not installed (make test installs it)")
    return found[-1].parent


@pytest.fixture(scope="session")
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """initdb once per session (about a second); the test migrates it as it needs."""
    bin_dir, port = _postgres_bin(), free_port()
    # Not under pytest's tmp dir: that is private to the user running the tests, and
    # PostgreSQL refuses to run as root, so as root it runs as the postgres system user.
    home = Path(tempfile.mkdtemp(prefix="arbscan-pg-"))
    data = home / "data"
    run_as = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    if run_as:
        shutil.chown(home, "postgres")
    subprocess.run(
        [*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"

    def pg_ctl(*args: str) -> None:
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start() -> None:
        pg_ctl("-l", str(home / "server.log"), "-o", options, "start")

    def stop() -> None:
        pg_ctl("-m", "immediate", "stop")  # a crash, not a polite shutdown

    start()
    subprocess.run(
        [*run_as, str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "arbscan"],
        check=True,
    )
    try:
        yield ThrowawayPostgres(port, "arbscan", start, stop)
    finally:
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(home, ignore_errors=True)
