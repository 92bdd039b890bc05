"""The dashboard, login/logout and API docs pages, through Django's test client."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.test import Client

from arbitrage.models import ScannerSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in() -> Client:
    get_user_model().objects.create_user("trader", password="pw-for-tests")
    client = Client()
    response = client.post("/accounts/login/", {"username": "trader", "password": "pw-for-tests"})
    assert response.status_code == 302 and response["Location"] == "/"
    return client


def page_config(html: str) -> dict:
    match = re.search(r'<script id="dashboard-config" type="application/json">(.*?)</script>', html)
    assert match, "the page carries its config"
    return json.loads(match.group(1))


def test_the_dashboard_page_carries_what_its_script_needs(logged_in: Client):
    ScannerSettings.objects.update_or_create(pk=1, defaults={"scan_interval_sec": 2})
    html = logged_in.get("/").content.decode()
    config = page_config(html)
    assert config["wsPath"] == "/ws/opportunities/" and config["healthUrl"] == "/api/v1/books/health/"
    assert config["scanIntervalSec"] == 2.0 and config["serverNowMs"] > 0
    for element in (
        'id="opps"',
        'id="feed-warning"',
        'id="edge-chart"',
        'id="health"',
        'id="f-symbol"',
        "Log out trader",
    ):
        assert element in html
    assert "http://" not in html and "https://" not in html, "no CDN: the page works offline"


def test_the_pages_static_files_exist(logged_in: Client):
    html = logged_in.get("/").content.decode()
    for url in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
        assert finders.find(url), f"missing static file {url}"


def test_a_wrong_password_is_refused_on_the_login_page():
    get_user_model().objects.create_user("trader", password="pw-for-tests")
    response = Client().post("/accounts/login/", {"username": "trader", "password": "wrong"})
    assert response.status_code == 200
    assert b"didn't match" in response.content


def test_logout_ends_the_session(logged_in: Client):
    response = logged_in.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert logged_in.get("/").status_code == 302


def test_a_logged_in_user_visiting_login_goes_to_the_dashboard(logged_in: Client):
    response = logged_in.get("/accounts/login/")
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_api_docs_are_swagger_ui_and_redoc_served_from_this_site(logged_in: Client):
    swagger = logged_in.get("/api/docs/").content.decode()
    redoc = logged_in.get("/api/redoc/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', swagger + redoc)
    assert any("swagger-ui-bundle.js" in a for a in assets) and any("redoc" in a for a in assets)
    assert all(a.startswith("/") for a in assets), "no CDN: every asset from this site"
    assert "<script>" not in swagger, "the start-up script is a file (Content-Security-Policy)"
    script = logged_in.get("/api/docs/?script=")
    assert script.status_code == 200 and "/api/schema/" in script.content.decode()
    for asset in assets:
        assert logged_in.get(asset.split("?")[0]).status_code == 200, asset
