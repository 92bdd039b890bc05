"""The digest task: off (said once) without a token, a digest run with one, and on beat's
schedule at the configured period."""

from __future__ import annotations

import logging

import pytest

from notifications import tasks
from notifications.models import Subscriber
from tests.fakes.telegram import TOKEN, fake_telegram
from tests.notifications.factories import episode_row

pytestmark = pytest.mark.django_db


def test_without_a_token_nothing_is_sent_and_it_is_said_once(settings, caplog, monkeypatch):  # type: ignore[no-untyped-def]
    settings.TELEGRAM_BOT_TOKEN = ""
    monkeypatch.setattr(tasks, "_off_logged", False)
    episode_row()
    Subscriber.objects.create(chat_id=1)
    with caplog.at_level(logging.INFO, logger="notifications.tasks"):
        assert tasks.send_digests.apply().get() == 0
        assert tasks.send_digests.apply().get() == 0
    assert [r.getMessage() for r in caplog.records].count(
        "Telegram notifications are off: TELEGRAM_BOT_TOKEN is empty"
    ) == 1


def test_with_a_token_the_task_sends_the_digest(settings):  # type: ignore[no-untyped-def]
    episode_row()
    Subscriber.objects.create(chat_id=1)
    with fake_telegram() as fake:
        settings.TELEGRAM_BOT_TOKEN = TOKEN
        settings.TELEGRAM_API_URL = fake.base_url
        assert tasks.send_digests.apply().get() == 1
    assert len(fake.texts_to(1)) == 1


def test_a_wrong_token_skips_the_run_with_a_clear_log(settings, caplog):  # type: ignore[no-untyped-def]
    Subscriber.objects.create(chat_id=1)
    with fake_telegram() as fake:
        settings.TELEGRAM_BOT_TOKEN = "1:wrong"
        settings.TELEGRAM_API_URL = fake.base_url
        with caplog.at_level(logging.ERROR, logger="notifications.tasks"):
            assert tasks.send_digests.apply().get() == 0
    assert fake.sent == []
    assert any("telegram digest skipped" in r.getMessage() for r in caplog.records)


def test_beat_runs_the_digest_at_the_configured_period(settings):  # type: ignore[no-untyped-def]
    from celery import Celery

    from config.celery import setup_periodic_tasks

    settings.TELEGRAM_DIGEST_PERIOD_SEC = 42.0
    app = Celery("probe", set_as_current=False)
    setup_periodic_tasks(app)
    entry = app.conf.beat_schedule["telegram digest"]
    assert entry["task"] == "notifications.tasks.send_digests" and entry["schedule"] == 42.0


def test_the_bot_token_never_reaches_the_logs(settings, caplog):  # type: ignore[no-untyped-def]
    episode_row()
    Subscriber.objects.create(chat_id=1)
    with fake_telegram() as fake, caplog.at_level(logging.DEBUG):
        settings.TELEGRAM_BOT_TOKEN = TOKEN
        settings.TELEGRAM_API_URL = fake.base_url
        assert tasks.send_digests.apply().get() == 1
    assert caplog.records and not any(TOKEN in r.getMessage() for r in caplog.records)
