"""Admin forms take anything a browser can post: arbitrary values in every field of every
form staff use answer with the form and its errors (or save), never a 500."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

FORMS = {
    "/admin/exchanges/exchange/add/": ["id", "name", "enabled", "taker_fee_bps"],
    "/admin/exchanges/exchange/binance/change/": ["id", "name", "enabled", "taker_fee_bps"],
    "/admin/exchanges/withdrawalfee/add/": ["exchange", "asset", "network", "fee", "withdrawals_enabled"],
    "/admin/exchanges/watchedsymbol/add/": ["symbol", "enabled"],
    "/admin/exchanges/exchangecredential/add/": ["exchange", "api_key", "secret", "password"],
    "/admin/arbitrage/scannersettings/1/change/": [
        "target_notional_usdt", "min_net_edge_pct", "slippage_bps", "stale_after_sec", "scan_interval_sec",
    ],
    "/admin/notifications/subscriber/add/": ["chat_id", "username", "filters", "mode", "active"],
    "/admin/auth/user/add/": ["username", "password1", "password2"],
}  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "1e309", "nan", "binance", "BTC", "BTC-USDT", "on", "{}", "[]", '{"symbol": 1}']),
    st.integers().map(str),
    st.just("9" * 400),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.sampled_from(sorted(FORMS)), data=st.data())
def test_no_admin_form_answers_500(admin_client: Client, settings, form: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    settings.FIELD_ENCRYPTION_KEY = "hIRx3D0AdTyIrUy_kVdcV2Gu4lXSObBFvL5zpOBDqrU="
    fields = FORMS[form]
    chosen = data.draw(st.lists(st.sampled_from(fields), unique=True))
    post = {name: data.draw(VALUES) for name in chosen}
    response = admin_client.post(form, post)
    assert response.status_code < 500, (form, post, response.content[:500])
