"""Every URL the project routes, tried anonymously and as a logged-in non-staff user: only
the ones meant for each answer 200 (no admin page, credential or audit edit slips
through), and none answers 500."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RoutePattern

from tests.api.endpoints import READ_ENDPOINTS

pytestmark = pytest.mark.django_db

ANONYMOUS_200 = {"/accounts/login/", "/admin/login/", "/healthz"}
TRADER_200 = ANONYMOUS_200 | set(READ_ENDPOINTS) | {"/", "/api/docs/", "/api/redoc/", "/readyz"}


def _templates(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        part = str(entry.pattern) if isinstance(entry.pattern, RoutePattern) else entry.pattern.regex.pattern
        if isinstance(entry, URLResolver):
            yield from _templates(entry.url_patterns, prefix + part)
        else:
            yield prefix + part


def _concrete(template: str) -> str:
    """One path a template matches: path converters and regex groups filled with a sample."""
    path = template.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
    path = re.sub(r"\.?\(\?P<format>[^)]*\)/?\??", "", path)
    path = re.sub(r"\(\?P<\w+>([a-z_]+)(?:\|[^)]*)?\)", r"\1", path)  # an alternation: its first word
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", path)
    path = re.sub(r"<(?:\w+:)?\w+>", "1", path)
    path = path.replace("/?", "/").replace("?", "")
    return "/" + path


def every_path() -> list[str]:
    paths = {"/api/v1/exchanges/binance/"}  # exchanges are keyed by id, not a number
    for template in _templates(get_resolver().url_patterns):
        path = _concrete(template)
        try:
            resolve(path)
        except Resolver404:
            continue
        paths.add(path)
    return sorted(paths)


def statuses(client: Client) -> dict[str, int]:
    return {path: client.get(path).status_code for path in every_path()}


def test_the_walk_finds_the_routes_that_matter() -> None:
    paths = every_path()
    assert len(paths) > 60
    for expected in ("/admin/exchanges/exchangecredential/", "/admin/arbitrage/episode/1/delete/", "/metrics"):
        assert expected in paths


def test_anonymous_visitors_get_only_the_login_pages_and_healthz() -> None:
    seen = statuses(Client())
    assert {path for path, status in seen.items() if status == 200} == ANONYMOUS_200
    assert not {path: status for path, status in seen.items() if status >= 500}


def test_a_logged_in_trader_gets_the_dashboard_and_the_api_but_nothing_of_admin() -> None:
    trader = get_user_model().objects.create_user("trader", password="pw-for-the-walk")
    client = Client()
    client.force_login(trader)
    seen = statuses(client)
    ok = {path for path, status in seen.items() if status == 200}
    assert ok <= TRADER_200, ok - TRADER_200
    assert {"/", "/api/v1/episodes/", "/api/docs/"} <= ok
    staff_only = [p for p in ok if p.startswith(("/admin/", "/metrics", "/accounts/2fa/")) and p != "/admin/login/"]
    assert not staff_only
    assert not {path: status for path, status in seen.items() if status >= 500}
