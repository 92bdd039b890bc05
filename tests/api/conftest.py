"""Users and clients for the REST API tests: a trader (logged in, not staff) and an admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

PASSWORD = "correct horse battery staple"


@pytest.fixture
def trader(db):
    return get_user_model().objects.create_user("trader", password=PASSWORD)


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("boss", password=PASSWORD, is_staff=True)


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


def _token_client(username: str) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


@pytest.fixture
def client_trader(trader) -> APIClient:
    """A trader authenticated the way programs are: with a JWT access token."""
    return _token_client(trader.username)


@pytest.fixture
def client_staff(staff) -> APIClient:
    return _token_client(staff.username)


@pytest.fixture
def store(settings):
    """The process's book store, as the views find it: in memory, empty, its own for this
    test (so are the feed and the lock: get_services() hands out the same)."""
    from arbitrage.runtime.services import get_services, reset_services

    settings.REDIS_URL = ""
    reset_services()
    yield get_services().store
    reset_services()
