"""The audit is append-only: no one edits or deletes episodes, scan records or Telegram
deliveries through admin or the API. The daily retention task is the one way rows leave,
and it logs what it removed."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from arbitrage.audit import ScanOutcome, apply_scan
from arbitrage.audit.retention import prune_audit
from arbitrage.models import Episode, ScanRecord
from notifications.models import Delivery, Subscriber
from tests.factories import opportunity

pytestmark = pytest.mark.django_db

DAY_MS = 86_400_000


def scan(at: dt.datetime, *found) -> None:  # type: ignore[no-untyped-def]
    apply_scan(ScanOutcome(id=int(at.timestamp() * 1000), duration_ms=1.0, books_total=2, books_used=2,
                           opportunities=list(found)))  # fmt: skip


@pytest.fixture
def audit() -> tuple[Episode, Delivery]:
    scan(timezone.now(), opportunity())
    episode = Episode.objects.get()
    subscriber = Subscriber.objects.create(chat_id=42, username="alice")
    delivery = Delivery.objects.create(subscriber=subscriber, episode=episode, net_edge_pct=0.5)
    return episode, delivery


def test_admin_offers_no_edit_and_no_delete_of_audit_rows(admin_client: Client, audit) -> None:  # type: ignore[no-untyped-def]
    episode, delivery = audit
    record = ScanRecord.objects.get()
    pages = {
        "episode": f"/admin/arbitrage/episode/{episode.pk}/",
        "scanrecord": f"/admin/arbitrage/scanrecord/{record.pk}/",
        "delivery": f"/admin/notifications/delivery/{delivery.pk}/",
    }
    for model, base in pages.items():
        assert admin_client.get(f"{base}delete/").status_code == 403, model
        assert admin_client.post(f"{base}delete/", {"post": "yes"}).status_code == 403, model
        change = admin_client.get(f"{base}change/").content.decode()
        assert "deletelink" not in change and 'name="_save"' not in change, model
        listing = admin_client.get(base.rsplit("/", 2)[0] + "/").content.decode()
        assert "delete_selected" not in listing, model
        bulk = admin_client.post(
            base.rsplit("/", 2)[0] + "/", {"action": "delete_selected", "_selected_action": [base.split("/")[-2]]}
        )
        assert bulk.status_code in (200, 302), model
    assert (Episode.objects.count(), ScanRecord.objects.count(), Delivery.objects.count()) == (1, 1, 1)


def test_the_api_reads_the_audit_and_changes_nothing(audit) -> None:  # type: ignore[no-untyped-def]
    episode, _ = audit
    staff = get_user_model().objects.create_user("boss", password="pw-boss-1", is_staff=True, is_superuser=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(staff)}")
    record = ScanRecord.objects.get()
    for url in (f"/api/v1/episodes/{episode.pk}/", f"/api/v1/scans/{record.pk}/"):
        assert client.get(url).status_code == 200
        for method in ("delete", "put", "patch"):
            assert getattr(client, method)(url, {}, format="json").status_code == 405, (method, url)
    assert client.post("/api/v1/episodes/", {}, format="json").status_code == 405
    assert Episode.objects.count() == 1 and ScanRecord.objects.count() == 1


def test_retention_removes_old_closed_episodes_and_records_only_and_logs_it(caplog) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    old = now - dt.timedelta(days=100)
    scan(old, opportunity("ETH-USDT"), opportunity("BTC-USDT"))
    scan(old + dt.timedelta(seconds=5), opportunity("BTC-USDT"))  # ETH closes 100 days ago; BTC stays open
    scan(now - dt.timedelta(days=1), opportunity("BTC-USDT"))
    subscriber = Subscriber.objects.create(chat_id=7, username="bob")
    eth = Episode.objects.get(symbol="ETH-USDT")
    Delivery.objects.create(subscriber=subscriber, episode=eth, net_edge_pct=0.5)

    with caplog.at_level(logging.INFO, logger="arbitrage.audit.retention"):
        removed = prune_audit(90, now=now)

    assert removed == {"arbitrage.ScanRecord": 2, "arbitrage.Episode": 1, "notifications.Delivery": 1}
    assert list(Episode.objects.values_list("symbol", "is_open")) == [("BTC-USDT", True)]
    assert ScanRecord.objects.count() == 1
    (line,) = [r for r in caplog.records if r.getMessage() == "audit pruned"]
    assert line.__dict__["arbitrage.Episode"] == 1 and line.__dict__["keep_days"] == 90
    assert prune_audit(0, now=now) == {}, "0 keeps everything"
