"""Admins list, filter and edit subscribers; bad filter values are refused with a form error."""

from __future__ import annotations

import pytest
from django.test import Client

from notifications.models import Subscriber

pytestmark = pytest.mark.django_db


def form(sub: Subscriber, **changes: str) -> dict[str, str]:
    data = {
        "chat_id": str(sub.chat_id),
        "username": sub.username,
        "is_active": "on",
        "mode": sub.mode,
        "filters": '{"risk": "ok"}',
    }
    data.update(changes)
    return data


def test_subscribers_are_listed_and_filtered_by_state(admin_client: Client):
    Subscriber.objects.create(chat_id=111, username="alice")
    Subscriber.objects.create(chat_id=222, username="bob", is_active=False)
    page = admin_client.get("/admin/notifications/subscriber/").content.decode()
    assert "alice" in page and "bob" in page
    active = admin_client.get("/admin/notifications/subscriber/?is_active__exact=1").content.decode()
    assert "alice" in active and "bob" not in active


def test_an_admin_edits_a_subscribers_filters(admin_client: Client):
    sub = Subscriber.objects.create(chat_id=111, username="alice")
    response = admin_client.post(
        f"/admin/notifications/subscriber/{sub.pk}/change/",
        form(sub, filters='{"min_net_edge": 0.25, "symbol": "BTC-USDT"}', mode="instant"),
    )
    assert response.status_code == 302
    sub.refresh_from_db()
    assert (sub.filters, sub.mode) == ({"min_net_edge": 0.25, "symbol": "BTC-USDT"}, "instant")
    listing = admin_client.get("/admin/notifications/subscriber/").content.decode()
    assert "symbol=BTC-USDT · min_net_edge=0.25" in listing


@pytest.mark.parametrize(
    ("filters", "error"),
    [
        ('{"symbol": 1}', "symbol: must be a string"),
        ('{"colour": "red"}', "colour: unknown filter"),
        ('["BTC"]', "must be an object"),
    ],
)
def test_filters_outside_the_language_are_refused(admin_client: Client, filters: str, error: str):
    sub = Subscriber.objects.create(chat_id=111)
    response = admin_client.post(f"/admin/notifications/subscriber/{sub.pk}/change/", form(sub, filters=filters))
    assert response.status_code == 200
    assert error in response.content.decode()
    sub.refresh_from_db()
    assert sub.filters == {"risk": "ok"}
