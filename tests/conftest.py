"""Shared fixtures. Tests that need Redis or PostgreSQL use the real servers; they are
skipped only outside CI when the server is not there (and never skipped when CI is set)."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

from tests.servers import PostgresServer, RedisServer, ServerMissing

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


@pytest.fixture
def throwaway_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, which the test may stop and start."""
    try:
        server = RedisServer()
    except ServerMissing as exc:
        pytest.fail(str(exc))
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def throwaway_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of the session's own, which a test may stop and start; the test
    migrates its database as it needs."""
    try:
        server = PostgresServer()
    except ServerMissing as exc:
        pytest.fail(str(exc))
    yield server
    server.close()
