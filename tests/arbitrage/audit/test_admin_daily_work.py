"""Admin as an operator uses it every day: episodes listed with their route, rounded edges,
times to the second and how long they lasted; one episode with its books as a table and
only the prices its type has, linked to what Telegram sent; the list as CSV; an exchange
with its withdrawal fees inline, a warning when it has none, and bulk enable/disable."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import replace

import pytest
from django.test import Client

from arbitrage.audit import ScanOutcome, apply_scan
from arbitrage.engine.types import BookEvidence
from arbitrage.models import Episode
from exchanges.models import Exchange, WatchedSymbol, WithdrawalFee
from tests.factories import opportunity

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, 12, 0, 5, tzinfo=dt.UTC)


def scan_at(moment: dt.datetime, *found) -> None:  # type: ignore[no-untyped-def]
    ms = int(moment.timestamp() * 1000)
    apply_scan(ScanOutcome(id=ms, duration_ms=1.0, books_total=3, books_used=3, opportunities=list(found)))


def triangle():  # type: ignore[no-untyped-def]
    evidence = [BookEvidence("okx", "ETH-BTC", 1_772_366_405_000, 1_772_366_405_040, 40, seq_id=77, checksum_ok=True)]
    return replace(
        opportunity("ETH-BTC", "okx", "okx", 0.31234),
        type="triangular",
        buy_exchange="",
        sell_exchange="",
        exchange="okx",
        path=["USDT", "BTC", "ETH", "USDT"],
        evidence=evidence,
    )


@pytest.fixture
def episodes() -> None:
    scan_at(T0, opportunity(net=0.51234), triangle())
    scan_at(T0 + dt.timedelta(seconds=65), opportunity(net=0.61234))  # the triangle closes


def test_the_episode_list_fits_a_day_of_work(admin_client: Client, episodes) -> None:  # type: ignore[no-untyped-def]
    page = admin_client.get("/admin/arbitrage/episode/").content.decode()
    assert "BTC-USDT  binance → okx" in page and "okx: USDT → BTC → ETH → USDT" in page
    assert "0.612 %" in page and "0.51234" not in page
    assert "2026-03-01 12:00:05" in page
    assert "1 min 05 s" in page  # BTC, still open, seen over 65 s


def test_a_triangular_episode_shows_its_cycle_and_books_not_buy_and_sell_prices(admin_client: Client, episodes) -> None:  # type: ignore[no-untyped-def]
    cycle = Episode.objects.get(type="triangular")
    page = admin_client.get(f"/admin/arbitrage/episode/{cycle.pk}/change/").content.decode()
    assert "Buy vwap" not in page and "Sell vwap" not in page
    assert "<table><thead><tr><th>exchange</th>" in page and "<td>ETH-BTC</td>" in page and "<td>77</td>" in page
    assert f"/admin/notifications/delivery/?episode__id__exact={cycle.pk}" in page
    spatial = Episode.objects.get(type="spatial")
    page = admin_client.get(f"/admin/arbitrage/episode/{spatial.pk}/change/").content.decode()
    assert "Buy vwap" in page and "Path" not in page


def test_the_selected_episodes_export_as_csv(admin_client: Client, episodes) -> None:  # type: ignore[no-untyped-def]
    ids = [str(pk) for pk in Episode.objects.values_list("pk", flat=True)]
    response = admin_client.post("/admin/arbitrage/episode/", {"action": "export_csv", "_selected_action": ids})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {row["type"] for row in rows} == {"spatial", "triangular"}
    cycle = next(row for row in rows if row["type"] == "triangular")
    assert cycle["path"] == "USDT→BTC→ETH→USDT" and cycle["is_open"] == "False"


def test_an_exchange_shows_its_fees_inline_and_warns_when_it_has_none(admin_client: Client) -> None:
    WatchedSymbol.objects.get_or_create(symbol="BTC-USDT")
    WithdrawalFee.objects.create(exchange_id="okx", asset="BTC", network="BTC", fee="0.0002")
    listing = admin_client.get("/admin/exchanges/exchange/").content.decode()
    assert "⚠ none: run sync_fees" in listing
    page = admin_client.get("/admin/exchanges/exchange/okx/change/").content.decode()
    assert 'name="withdrawal_fees-0-fee"' in page and "0.0002" in page


def test_exchanges_and_symbols_are_enabled_and_disabled_in_bulk(admin_client: Client) -> None:
    admin_client.post(
        "/admin/exchanges/exchange/", {"action": "disable", "_selected_action": ["okx", "kraken"]}
    )  # fmt: skip
    assert set(Exchange.objects.filter(enabled=False).values_list("id", flat=True)) >= {"okx", "kraken"}
    admin_client.post("/admin/exchanges/exchange/", {"action": "enable", "_selected_action": ["okx"]})
    assert Exchange.objects.get(pk="okx").enabled and not Exchange.objects.get(pk="kraken").enabled
    symbol = WatchedSymbol.objects.first()
    assert symbol is not None
    admin_client.post("/admin/exchanges/watchedsymbol/", {"action": "disable", "_selected_action": [symbol.pk]})
    symbol.refresh_from_db()
    assert not symbol.enabled


def test_admin_names_things_in_good_english(admin_client: Client) -> None:
    index = admin_client.get("/admin/").content.decode()
    assert "Telegram deliveries" in index and "Deliverys" not in index
