"""Password guessing is cut off: after LOGIN_FAILURE_LIMIT failures on one account (or from
one address), even the right password is refused, with when to retry, on the token
endpoint, the dashboard login and admin; the lock ends after the window or when staff
unlock the account."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

PASSWORD = "the-right-password-7"
GUESSES = 30


@pytest.fixture
def trader(db):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_user("trader", password=PASSWORD, is_staff=True)


def token(client: Client, password: str, address: str = "203.0.113.7") -> tuple[int, dict[str, str]]:
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "trader", "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
    )
    return response.status_code, response.json()


def test_thirty_bad_passwords_lock_the_token_endpoint_with_a_clear_message(trader, settings) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    codes = [token(client, f"guess-{i}")[0] for i in range(GUESSES)]
    assert codes[0] == 401
    assert codes[-1] == 429
    status, body = token(client, PASSWORD)
    assert status == 429
    assert body["detail"].startswith("Too many failed logins for this account or from this address: try again in 15")
    # Another address cannot get in either: the account itself is locked.
    assert token(client, PASSWORD, address="198.51.100.9")[0] == 429


def test_the_lock_ends_after_the_window(trader) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    for i in range(GUESSES):
        token(client, f"guess-{i}")
    assert token(client, PASSWORD)[0] == 429
    # Fifteen minutes later (the attempts aged by the window).
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    assert token(client, PASSWORD)[0] == 200


def test_staff_unlock_an_account_with_a_command(trader) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    for i in range(GUESSES):
        token(client, f"guess-{i}")
    call_command("axes_reset_username", "trader", stdout=io.StringIO())
    call_command("axes_reset_ip", "203.0.113.7", stdout=io.StringIO())
    assert token(client, PASSWORD)[0] == 200


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_login_pages_lock_too_and_say_when_to_retry(trader, path: str) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    for i in range(GUESSES):
        client.post(path, {"username": "trader", "password": f"guess-{i}"}, REMOTE_ADDR="203.0.113.8")
    response = client.post(path, {"username": "trader", "password": PASSWORD}, REMOTE_ADDR="203.0.113.8")
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content and b"try again in 15 minutes" in response.content
    assert int(response["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in client.session


def test_a_few_mistakes_do_not_lock_and_a_success_forgets_them(trader) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    for i in range(5):
        token(client, f"typo-{i}")
    assert token(client, PASSWORD)[0] == 200
    for i in range(9):
        token(client, f"typo-again-{i}")
    assert token(client, PASSWORD)[0] == 200, "the count started again after the success"
