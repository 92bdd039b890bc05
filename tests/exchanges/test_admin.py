"""Admins edit exchanges, fees and the watchlist; bad values get clear form errors and
nothing is saved."""

from decimal import Decimal

import pytest
from django.test import Client

from exchanges.models import Exchange, WatchedSymbol, WithdrawalFee
from tests.conftest import errors_of

pytestmark = pytest.mark.django_db

# The exchange page carries its withdrawal fees inline: a form that leaves them as they are.
NO_INLINE_CHANGES = {"withdrawal_fees-TOTAL_FORMS": "0", "withdrawal_fees-INITIAL_FORMS": "0"}


def test_seeded_exchanges_and_watchlist_are_listed(admin: Client):
    assert Exchange.objects.count() == 14
    page = admin.get("/admin/exchanges/exchange/").content.decode()
    assert "Crypto.com" in page and "Binance" in page
    assert WatchedSymbol.objects.filter(symbol="ETH-BTC").exists()


def test_negative_taker_fee_is_refused_with_a_form_error(admin: Client):
    response = admin.post(
        "/admin/exchanges/exchange/binance/change/",
        {"id": "binance", "name": "Binance", "enabled": "on", "taker_fee_bps": "-1", **NO_INLINE_CHANGES},
    )
    assert response.status_code == 200
    assert "greater than or equal to 0" in errors_of(response)["taker_fee_bps"][0]
    assert Exchange.objects.get(id="binance").taker_fee_bps == Decimal("10")


def test_fractional_fee_is_saved_and_marked_as_set_by_admin(admin: Client):
    response = admin.post(
        "/admin/exchanges/exchange/binance/change/",
        {"id": "binance", "name": "Binance", "enabled": "on", "taker_fee_bps": "7.5", **NO_INLINE_CHANGES},
    )
    assert response.status_code == 302
    binance = Exchange.objects.get(id="binance")
    assert binance.taker_fee_bps == Decimal("7.5")
    assert binance.fee_set_by_admin


def test_withdrawal_fee_for_an_unknown_asset_names_the_known_ones(admin: Client):
    response = admin.post(
        "/admin/exchanges/withdrawalfee/add/",
        {"exchange": "binance", "asset": "NOPE", "network": "erc20", "fee": "1", "withdrawals_enabled": "on"},
    )
    message = errors_of(response)["asset"][0]
    assert "Unknown asset NOPE" in message and "BTC" in message
    assert not WithdrawalFee.objects.exists()


def test_withdrawal_fee_is_normalised_and_negative_fee_refused(admin: Client):
    bad = admin.post(
        "/admin/exchanges/withdrawalfee/add/", {"exchange": "binance", "asset": "btc", "network": "", "fee": "-0.1"}
    )
    assert "fee" in errors_of(bad)
    good = admin.post(
        "/admin/exchanges/withdrawalfee/add/",
        {"exchange": "binance", "asset": "btc", "network": "btc", "fee": "0.0002", "withdrawals_enabled": "on"},
    )
    assert good.status_code == 302
    row = WithdrawalFee.objects.get()
    assert (row.asset, row.network, row.fee, row.set_by_admin) == ("BTC", "BTC", Decimal("0.0002"), True)


@pytest.mark.parametrize(
    ("raw", "error"),
    [("BTCUSDT", "BASE-QUOTE"), ("BTC-BTC", "must differ"), ("BTC-US DT", "BASE-QUOTE")],
)
def test_bad_symbols_are_refused(admin: Client, raw: str, error: str):
    response = admin.post("/admin/exchanges/watchedsymbol/add/", {"symbol": raw, "enabled": "on"})
    assert error in errors_of(response)["symbol"][0]


def test_symbol_is_normalised_to_upper_case_base_quote(admin: Client):
    response = admin.post("/admin/exchanges/watchedsymbol/add/", {"symbol": "pepe/usdt", "enabled": "on"})
    assert response.status_code == 302
    assert WatchedSymbol.objects.filter(symbol="PEPE-USDT").exists()
