"""Nothing but the login pages and /healthz is open; wrong or missing credentials get a JSON
401/403, never an HTML page or a traceback."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.api.conftest import PASSWORD
from tests.api.endpoints import READ_ENDPOINTS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", READ_ENDPOINTS)
def test_every_endpoint_refuses_anonymous_callers_with_a_json_401(anon: APIClient, url: str):
    response = anon.get(url)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_a_bad_token_is_a_401_saying_so(anon: APIClient, token: str):
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = anon.get("/api/v1/episodes/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_wrong_password_gets_no_token(anon: APIClient, trader):
    response = anon.post("/api/v1/auth/token/", {"username": "trader", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.json()["detail"] == "No active account found with the given credentials"


def test_token_obtain_and_refresh_give_working_access_tokens(anon: APIClient, trader):
    pair = anon.post("/api/v1/auth/token/", {"username": "trader", "password": PASSWORD}, format="json").json()
    refreshed = anon.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == 200
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert anon.get("/api/v1/episodes/").status_code == 200


def test_a_refresh_token_is_not_an_access_token(anon: APIClient, trader):
    pair = anon.post("/api/v1/auth/token/", {"username": "trader", "password": PASSWORD}, format="json").json()
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['refresh']}")
    assert anon.get("/api/v1/episodes/").status_code == 401


def test_a_bad_refresh_token_is_a_401(anon: APIClient):
    response = anon.post("/api/v1/auth/token/refresh/", {"refresh": "garbage"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_token_request_without_fields_names_them(anon: APIClient):
    response = anon.post("/api/v1/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_a_browser_session_reads_the_api_and_writes_only_with_csrf(trader):
    browser = Client(enforce_csrf_checks=True)
    login = browser.post("/accounts/login/", {"username": "trader", "password": PASSWORD})
    assert login.status_code == 403  # the login form itself needs the CSRF token
    browser.get("/accounts/login/")
    token = browser.cookies["csrftoken"].value
    login = browser.post("/accounts/login/", {"username": "trader", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert login.status_code == 302 and login["Location"] == "/"
    assert browser.get("/api/v1/settings/").status_code == 200
    # A write without the CSRF header is refused before permissions are even considered.
    response = browser.patch("/api/v1/settings/", {"slippage_bps": "6"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_trader_reads_configuration_but_may_not_change_it(client_trader: APIClient):
    assert client_trader.get("/api/v1/settings/").status_code == 200
    response = client_trader.patch("/api/v1/settings/", {"slippage_bps": "6"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only staff may change this."}
    response = client_trader.post("/api/v1/exchanges/", {"id": "newex", "name": "New"}, format="json")
    assert response.status_code == 403
    assert client_trader.delete("/api/v1/exchanges/binance/").status_code == 403


def test_healthz_and_the_login_page_are_open(anon: APIClient):
    assert anon.get("/healthz").json() == {"status": "ok"}
    page = Client().get("/accounts/login/")
    assert page.status_code == 200 and b'name="password"' in page.content


@pytest.mark.parametrize("url", ["/", "/api/docs/"])
def test_pages_send_anonymous_visitors_to_the_login_page(url: str):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


def test_an_unknown_api_url_is_a_json_404(client_trader: APIClient):
    response = client_trader.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found: /api/v1/nothing-here/"}


def test_an_unknown_object_is_a_json_404(client_trader: APIClient):
    response = client_trader.get("/api/v1/exchanges/nosuchexchange/")
    assert response.status_code == 404
    assert response.json()["detail"]
