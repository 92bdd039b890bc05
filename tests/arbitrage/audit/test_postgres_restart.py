"""A real PostgreSQL crash and restart, on a throwaway cluster of the test's own: the scans
made while it is down reach the audit once it is back, all of them, in order, none doubled;
meanwhile the API answers 503 with a JSON body, and afterwards it serves again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from arbitrage.models import Episode, ScanRecord
from arbitrage.runtime.scan import run_scan
from arbitrage.runtime.services import on_redis
from tests.factories import edge_books, now_ms
from tests.servers import PostgresServer


@contextmanager
def django_on(pg: PostgresServer) -> Iterator[None]:
    """The process's database is the throwaway cluster, migrated, for the block."""
    saved = {key: connection.settings_dict[key] for key in ("HOST", "PORT", "NAME")}
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(pg.port), NAME=pg.database)
    try:
        call_command("migrate", verbosity=0)
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def token_client() -> APIClient:
    get_user_model().objects.create_user("trader", password="pw-for-the-outage")
    client = APIClient(raise_request_exception=False)
    response = client.post(
        "/api/v1/auth/token/", {"username": "trader", "password": "pw-for-the-outage"}, format="json"
    )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


@pytest.mark.django_db(transaction=True)
def test_scans_made_while_postgres_is_down_are_audited_in_order_once_it_is_back(
    requires_postgres, throwaway_postgres: PostgresServer, redis_url: str, redis_client
) -> None:
    prefix = f"pg-restart-{now_ms()}:"
    services = on_redis(redis_url, key_prefix=prefix, feed_stream=f"{prefix}feed")
    t0 = now_ms()
    with django_on(throwaway_postgres):
        api = token_client()
        services.store.write_books(edge_books(ts=t0))
        assert run_scan(services=services, now_ms=t0).persisted

        throwaway_postgres.stop()
        try:
            down = [run_scan(services=services, now_ms=t0 + step * 5000) for step in (1, 2)]
            assert [(r.persisted, r.audit_pending) for r in down] == [(False, 1), (False, 2)]
            assert all(r.published for r in down), "the dashboard kept getting scans"
            response = api.get("/api/v1/episodes/")
            assert response.status_code == 503
            assert response.json() == {"detail": "The database is unavailable; try again shortly."}
        finally:
            throwaway_postgres.start()

        services.store.write_books(edge_books(ts=t0 + 15_000))
        back = run_scan(services=services, now_ms=t0 + 15_000)
        assert back.persisted and back.audit_pending == 0
        assert list(ScanRecord.objects.order_by("id").values_list("id", "status")) == [
            (t0 + step * 5000, "applied") for step in range(4)
        ]
        episode = Episode.objects.get(buy_exchange="binance", sell_exchange="okx")
        assert episode.times_seen == 4
        assert episode.first_seen <= episode.last_seen
        assert api.get("/api/v1/episodes/").json()["count"] == 1
    services.store.close()
