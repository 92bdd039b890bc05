"""Input built to hurt gets a 4xx with a JSON reason on the API, never a 500 or a
traceback: deep JSON, NUL characters in URLs, query strings and bodies, huge bodies, huge
values quoted back. Hypothesis throws arbitrary bodies and query strings at every
endpoint, anonymously and logged in."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.api.endpoints import READ_ENDPOINTS

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    traced = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not traced, [r.getMessage() for r in traced]


def test_json_nested_5000_deep_on_the_token_endpoint_is_a_400(anon: APIClient, caplog) -> None:  # type: ignore[no-untyped-def]
    response = anon.post("/api/v1/auth/token/", DEEP, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error: JSON nested deeper than 32 levels."}
    no_tracebacks(caplog)


def test_json_a_little_too_deep_or_with_a_nul_is_a_400(client_staff: APIClient) -> None:
    deep = {"name": "x"}
    for _ in range(40):
        deep = {"nested": deep}
    for body, reason in [(deep, "nested deeper than 32"), ({"name": "Bin\x00ance"}, "NUL characters")]:
        response = client_staff.post("/api/v1/exchanges/", orjson.dumps(body), content_type="application/json")
        assert response.status_code == 400
        assert reason in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/exchanges/%00/", "/api/v1/episodes/?symbol=BTC%00", "/api/v1/exchanges/?x=%00", "/admin/%00/"],
)
def test_a_nul_in_the_url_is_a_400(client_trader: APIClient, path: str) -> None:
    response = client_trader.get(path)
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.json() == {"detail": "The URL contains a NUL character (%00): remove it."}


def test_a_nul_in_a_form_body_is_a_400(client_staff: APIClient, admin_client: Client) -> None:
    form = "application/x-www-form-urlencoded"
    response = client_staff.post("/api/v1/withdrawal-fees/", "exchange=bin%00ance&asset=BTC&fee=1", content_type=form)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert admin_client.post("/admin/exchanges/exchange/add/", {"id": "a\x00b", "name": "x"}).status_code == 400


def test_a_10_mb_body_is_a_413_in_json(client_staff: APIClient) -> None:
    body = b'{"name": "' + b"x" * 10_000_000 + b'"}'
    response = client_staff.post("/api/v1/exchanges/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["detail"].startswith("The request body is 10000012 bytes; the limit is")


def test_error_messages_do_not_echo_a_huge_value(client_trader: APIClient, client_staff: APIClient) -> None:
    huge = "B" * 20_000
    answers = [
        client_trader.get(f"/api/v1/episodes/?symbol={huge}-USDT"),
        client_trader.get(f"/api/v1/opportunities/?exchange={huge}"),
        client_staff.post("/api/v1/exchanges/", {"id": huge, "name": huge}, format="json"),
        client_staff.post("/api/v1/withdrawal-fees/", {"exchange": huge, "asset": huge, "fee": huge}, format="json"),
    ]
    for response in answers:
        assert response.status_code == 400, response.content[:300]
        assert len(response.content) < 2_000, response.content[:300]


# --- fuzzing every endpoint -------------------------------------------------------------

READS = [path for path in READ_ENDPOINTS if path.startswith("/api/v1/")]
WRITES = [
    "/api/v1/auth/token/",
    "/api/v1/auth/token/refresh/",
    "/api/v1/exchanges/",
    "/api/v1/withdrawal-fees/",
    "/api/v1/settings/",
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
FIELDS = ["id", "name", "enabled", "taker_fee_bps", "exchange", "asset", "network", "fee", "username", "password"]
FIELDS += ["refresh", "symbol", "min_net_edge", "type", "risk", "limit", "offset", "ordering", "scan_interval_sec"]
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=60, deadline=None, suppress_health_check=HEALTH)
@given(
    path=st.sampled_from(READS),
    query=st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=40), max_size=4),
    raw=st.text(max_size=60),
)
def test_no_query_string_gets_a_server_error(
    client_staff: APIClient, path: str, query: dict[str, str], raw: str
) -> None:
    encoded = "&".join(f"{k}={quote(v)}" for k, v in query.items())
    for url in (f"{path}?{encoded}", f"{path}?{quote(raw, safe='=&')}"):
        response = client_staff.get(url)
        assert response.status_code < 500, (url, response.content[:300])


@settings(max_examples=80, deadline=None, suppress_health_check=HEALTH)
@given(
    path=st.sampled_from(WRITES),
    method=st.sampled_from(["post", "put", "patch"]),
    body=st.one_of(
        JSON.map(lambda v: ("application/json", json.dumps(v))),
        st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5).map(lambda v: ("application/json", json.dumps(v))),
        st.binary(max_size=80).map(lambda b: ("application/json", b)),
        st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=20), max_size=5).map(
            lambda v: ("application/x-www-form-urlencoded", "&".join(f"{k}={quote(x)}" for k, x in v.items()))
        ),
    ),
    logged_in=st.booleans(),
)
def test_no_body_gets_a_server_error(
    client_staff: APIClient, anon: APIClient, path: str, method: str, body: tuple[str, Any], logged_in: bool
) -> None:
    client = client_staff if logged_in else anon
    content_type, data = body
    response = getattr(client, method)(path, data, content_type=content_type)
    assert response.status_code < 500, (method, path, data[:200], response.content[:300])
