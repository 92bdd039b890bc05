"""The OpenAPI schema, served by the app itself, run against the app by schemathesis: every
operation, with generated valid and invalid inputs, answers without a 5xx and with bodies
that match the schema."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import AccessToken

from arbitrage.audit import record_scan
from arbitrage.runtime.scan import run_scan
from tests.factories import book, opportunity

try:
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("CI"):
        raise
    pytest.skip("schemathesis is not installed (pip install schemathesis)", allow_module_level=True)

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
APP = get_wsgi_application()


@pytest.fixture
def staff_headers(staff) -> dict[str, str]:
    return {"Authorization": f"Bearer {AccessToken.for_user(staff)}"}


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Calling the WSGI app directly would close the database connection at the end of each
    request, and with it the test's transaction; Django's own test client prevents that the
    same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def live_data(store):
    """Data behind every read: a real scan's opportunities in the feed, books (one of them
    unhealthy) in the store and episodes in the database."""
    store.write_books(
        [
            book("binance", "BTC-USDT", bid=99.9, ask=100.0),
            book("okx", "BTC-USDT", bid=101.0, ask=101.1),
            book("kraken", "ETH-USDT", healthy=False),
        ]
    )
    run_scan()
    record_scan([opportunity("ETH-USDT", "kraken", "okx")], datetime.now(tz=UTC), {})


def generated_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


# Built at collection time (no database needed); the test below checks it is exactly what
# the app serves at /api/schema/.
schema = schemathesis.openapi.from_dict(generated_schema())


def test_the_served_schema_is_the_one_under_test(client_staff):
    served = client_staff.get("/api/schema/?format=json")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(generated_schema()))


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_the_schema(case, staff_headers, live_data, wsgi_keeps_the_test_connection):
    response = case.call(app=APP, headers=staff_headers)
    case.validate_response(response, checks=CHECKS)
