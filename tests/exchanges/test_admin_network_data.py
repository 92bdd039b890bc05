"""Admin shows how old each exchange's withdrawal network data is and who wrote it: a
"network data" column on the exchange list, "by" (sync or admin) and "updated at" on the
withdrawal fee list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from exchanges.models import WithdrawalFee

pytestmark = pytest.mark.django_db


def fee(exchange: str, network: str, *, admin: bool, age: timedelta) -> None:
    row = WithdrawalFee.objects.create(exchange_id=exchange, asset="BTC", network=network, fee="0.0002")
    # updated_at is auto_now: set the age (and the author) past save().
    WithdrawalFee.objects.filter(pk=row.pk).update(set_by_admin=admin, updated_at=timezone.now() - age)


def network_cells(page: str) -> dict[str, str]:
    """Each exchange row's "network data" cell, as text."""
    cells = re.findall(r'<tr>.*?href="/admin/exchanges/exchange/([^/]+)/change/[^"]*".*?'
                       r'<td class="field-network_data">(.*?)</td>', page, re.S)  # fmt: skip
    return {exchange: re.sub(r"<[^>]+>", "", cell) for exchange, cell in cells}


def test_the_exchange_list_shows_the_age_of_the_newest_row_and_its_author(admin: Client) -> None:
    fee("binance", "BTC", admin=False, age=timedelta(hours=3, minutes=5))
    fee("binance", "BEP20", admin=False, age=timedelta(days=4))
    fee("okx", "BTC", admin=False, age=timedelta(days=2))
    fee("okx", "LIGHTNING", admin=True, age=timedelta(minutes=12))  # an admin edited okx since

    page = admin.get("/admin/exchanges/exchange/").content.decode()

    assert "network data" in page.lower()
    cells = network_cells(page)
    assert cells["binance"] == "3 h ago (sync)"
    assert cells["okx"] == "12 min ago (admin)"
    assert cells["kraken"] == "never"
    # The absolute time is the cell's tooltip.
    newest = WithdrawalFee.objects.get(exchange_id="binance", network="BTC").updated_at
    assert f'title="{newest:%Y-%m-%d %H:%M:%S} UTC"' in page


def test_the_exchange_list_sorts_by_the_age_of_the_network_data(admin: Client) -> None:
    fee("okx", "BTC", admin=False, age=timedelta(days=2))
    fee("binance", "BTC", admin=False, age=timedelta(hours=1))
    index = admin.get("/admin/exchanges/exchange/").context["cl"].list_display.index("network_data")

    newest_first = list(network_cells(admin.get(f"/admin/exchanges/exchange/?o=-{index}").content.decode()))
    oldest_first = list(network_cells(admin.get(f"/admin/exchanges/exchange/?o={index}").content.decode()))

    assert newest_first[:2] == ["binance", "okx"]  # and "never" after them
    assert oldest_first[-2:] == ["okx", "binance"]  # "never" counts as the oldest


def test_the_withdrawal_fee_list_says_who_set_each_row_and_when(admin: Client) -> None:
    fee("binance", "BTC", admin=False, age=timedelta(hours=1))
    fee("okx", "BTC", admin=True, age=timedelta(hours=1))

    page = admin.get("/admin/exchanges/withdrawalfee/").content.decode()

    by = re.findall(r'<td class="field-set_by">(\w+)</td>', page)
    assert sorted(by) == ["admin", "sync"]
    assert "column-set_by" in page and "column-updated_at" in page
