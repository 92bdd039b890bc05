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
        "min_net_edge_pct": str(sub.min_net_edge_pct),
        "symbols": "[]",
        "exchanges": "[]",
        "type_filter": sub.type_filter,
        "only_ok": "on",
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
        form(sub, min_net_edge_pct="0.25", symbols='["BTC-USDT"]', mode="instant"),
    )
    assert response.status_code == 302
    sub.refresh_from_db()
    assert (str(sub.min_net_edge_pct), sub.symbols, sub.mode) == ("0.2500", ["BTC-USDT"], "instant")


def test_a_symbols_filter_that_is_not_a_list_of_names_is_refused(admin_client: Client):
    sub = Subscriber.objects.create(chat_id=111)
    response = admin_client.post(f"/admin/notifications/subscriber/{sub.pk}/change/", form(sub, symbols='{"BTC": 1}'))
    assert response.status_code == 200
    assert "Enter a list of names" in response.content.decode()
    sub.refresh_from_db()
    assert sub.symbols == []
