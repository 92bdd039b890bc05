"""A database outage answers 503 with a JSON body on the API (and a plain 503 elsewhere),
never a 500 or a traceback; the next request after it returns is served again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests import free_port


@contextmanager
def database_unreachable() -> Iterator[None]:
    """The app's database connection points at a port nothing listens on: a real outage."""
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_is_a_503_with_a_json_body(requires_postgres, client_trader: APIClient, store):  # type: ignore[no-untyped-def]
    client_trader.raise_request_exception = False
    with database_unreachable():
        for path in ("/api/v1/episodes/", "/api/v1/settings/", "/api/v1/scans/"):
            response = client_trader.get(path)
            assert response.status_code == 503, path
            assert response.json() == {"detail": "The database is unavailable; try again shortly."}
        page = client_trader.get("/accounts/login/")
        assert page.status_code in (200, 503)  # the login form itself needs no database
    assert client_trader.get("/api/v1/episodes/").status_code == 200
