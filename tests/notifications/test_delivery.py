"""Digest runs against a fake Bot API server driven by the real python-telegram-bot client:
the right chats get the right text, flood waits are honoured, a blocked bot deactivates
the subscriber, failures are retried, and nothing is ever sent twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from arbitrage.runtime.scan import run_scan
from arbitrage.runtime.services import get_services, reset_services
from notifications.digest import EpisodeView
from notifications.models import Delivery, Subscriber
from notifications.runner import claim, deliver, messages_for, run_digests
from notifications.sender import SendPolicy, TelegramSender
from tests.factories import book
from tests.fakes.telegram import TOKEN, FakeTelegram, fake_telegram
from tests.notifications.factories import episode_row

pytestmark = pytest.mark.django_db

FAST = SendPolicy(backoff_sec=0.01, per_chat_interval_sec=0.0, per_group_interval_sec=0.0, per_second=1000)


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with fake_telegram() as server:
        yield server


@pytest.fixture
def sender(fake: FakeTelegram) -> Iterator[TelegramSender]:
    with TelegramSender(TOKEN, fake.base_url, FAST) as s:
        yield s


@pytest.fixture(autouse=True)
def dashboard(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DASHBOARD_URL = "https://dash.example/"


def test_a_digest_reaches_each_subscriber_with_what_passes_their_filters(fake: FakeTelegram, sender: TelegramSender):
    episode_row("BTC-USDT", net=0.8)
    episode_row("ETH-USDT", net=0.3)
    Subscriber.objects.create(chat_id=1)
    Subscriber.objects.create(chat_id=2, filters={"symbol": "ETH-USDT"})
    Subscriber.objects.create(chat_id=3, filters={"min_net_edge": 1})
    Subscriber.objects.create(chat_id=4, mode="silent")

    report = run_digests(sender)

    assert report.messages_sent == 2
    [to_1] = fake.texts_to(1)
    assert to_1.index("BTC-USDT") < to_1.index("ETH-USDT") and "https://dash.example/" in to_1
    [to_2] = fake.texts_to(2)
    assert "ETH-USDT" in to_2 and "BTC-USDT" not in to_2
    assert fake.texts_to(3) == [] and fake.texts_to(4) == []
    assert {m.parse_mode for m in fake.sent} == {"HTML"}


def test_nothing_new_sends_nothing_and_only_a_clearly_better_episode_is_sent_again(
    fake: FakeTelegram, sender: TelegramSender
):
    ep = episode_row(net=0.5)
    Subscriber.objects.create(chat_id=1)
    run_digests(sender)
    run_digests(sender)
    assert len(fake.texts_to(1)) == 1

    ep.net_edge_pct = 0.52
    ep.save()
    run_digests(sender)
    assert len(fake.texts_to(1)) == 1

    ep.net_edge_pct = 0.9
    ep.save()
    run_digests(sender)
    assert len(fake.texts_to(1)) == 2 and "0.900%" in fake.texts_to(1)[1]


def test_the_instant_run_serves_instant_subscribers_only(fake: FakeTelegram, sender: TelegramSender):
    episode_row("BTC-USDT")
    Subscriber.objects.create(chat_id=1, mode="instant")
    Subscriber.objects.create(chat_id=2, mode="digest")
    run_digests(sender, modes=[Subscriber.Mode.INSTANT])
    assert len(fake.texts_to(1)) == 1 and fake.texts_to(2) == []
    run_digests(sender)  # the digest period's run: the digest subscriber now, no repeat for 1
    assert len(fake.texts_to(1)) == 1 and len(fake.texts_to(2)) == 1


def test_instant_mode_sends_one_message_per_episode(fake: FakeTelegram, sender: TelegramSender):
    episode_row("BTC-USDT")
    episode_row("ETH-USDT")
    Subscriber.objects.create(chat_id=1, mode="instant")
    run_digests(sender)
    texts = fake.texts_to(1)
    assert len(texts) == 2
    assert all(text.startswith("<b>Arbitrage alert</b>") for text in texts), texts  # not a digest


def test_a_flood_wait_is_honoured_then_the_message_is_sent(fake: FakeTelegram, fake_sleep_sender):  # type: ignore[no-untyped-def]
    sender, waits = fake_sleep_sender
    episode_row()
    Subscriber.objects.create(chat_id=1)
    fake.fail_next(1, 429, retry_after=7)
    run_digests(sender)
    assert waits == [7.0]
    assert fake.attempts == [1, 1] and len(fake.texts_to(1)) == 1


def test_a_blocked_bot_deactivates_the_subscriber_and_the_others_still_get_theirs(
    fake: FakeTelegram, sender: TelegramSender
):
    episode_row()
    Subscriber.objects.create(chat_id=1)
    Subscriber.objects.create(chat_id=2)
    fake.block(1)
    report = run_digests(sender)
    assert report.blocked == 1
    assert not Subscriber.objects.get(chat_id=1).is_active
    assert "blocked" in Subscriber.objects.get(chat_id=1).deactivated_reason
    assert len(fake.texts_to(2)) == 1
    run_digests(sender)
    assert fake.attempts.count(1) == 1  # never asked again


def test_other_errors_are_retried_with_backoff_then_given_up_until_the_next_run(
    fake: FakeTelegram,
    fake_sleep_sender,  # type: ignore[no-untyped-def]
):
    sender, waits = fake_sleep_sender
    episode_row()
    Subscriber.objects.create(chat_id=1)
    Subscriber.objects.create(chat_id=2)
    fake.fail_next(1, 500)
    run_digests(sender)
    assert waits == [1.0] and len(fake.texts_to(1)) == 1

    for _ in range(4):
        fake.fail_next(2, 502)
    episode_row("ETH-USDT")
    report = run_digests(sender)
    assert report.failed == 1 and waits[1:] == [1.0, 2.0, 4.0]
    assert Delivery.objects.filter(subscriber__chat_id=2, sent_at__isnull=True).count() == 0
    run_digests(sender)  # the failed digest is tried again, whole
    assert len(fake.texts_to(2)) == 2 and "ETH-USDT" in fake.texts_to(2)[-1]


class Killed(BaseException):
    """The worker process dying mid-run."""


def test_a_run_that_dies_halfway_never_repeats_a_message(fake: FakeTelegram):
    episode_row()
    for chat in (1, 2, 3):
        Subscriber.objects.create(chat_id=chat)
    fake.fail_next(2, 500)

    async def die(seconds: float) -> None:
        raise Killed

    with TelegramSender(TOKEN, fake.base_url, FAST, sleep=die) as dying, pytest.raises(Killed):
        run_digests(dying)
    assert [m.chat_id for m in fake.sent] == [1]

    with TelegramSender(TOKEN, fake.base_url, FAST) as sender:
        run_digests(sender)
    # Chat 1 got its digest once; chat 2's was recorded before the crash and is not
    # repeated (possibly lost, never doubled); chat 3 gets its own.
    assert [m.chat_id for m in fake.sent] == [1, 3]


def test_a_wrong_token_fails_before_any_send(fake: FakeTelegram):
    from telegram.error import InvalidToken

    with pytest.raises(InvalidToken), TelegramSender("999:wrong", fake.base_url, FAST):
        pass


@pytest.fixture
def fake_sleep_sender(fake: FakeTelegram) -> Iterator[tuple[TelegramSender, list[float]]]:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    with TelegramSender(TOKEN, fake.base_url, SendPolicy(per_chat_interval_sec=0.0), sleep=record) as s:
        yield s, waits


def test_a_message_another_overlapping_run_claimed_is_not_sent_twice(fake: FakeTelegram, sender: TelegramSender):
    ep = episode_row()
    sub = Subscriber.objects.create(chat_id=1)
    [digest] = messages_for(sub, [EpisodeView.from_row(ep)], {}, "https://dash.example/")
    # The other run (a slow worker overlapping the next tick) wrote its claim first.
    Delivery.objects.create(subscriber=sub, episode=ep, net_edge_pct=ep.net_edge_pct)
    assert deliver(sender, sub, digest) is None
    assert fake.attempts == []


def test_the_digest_task_leaves_instant_subscribers_to_the_instant_run(fake: FakeTelegram, settings):  # type: ignore[no-untyped-def]
    from notifications import tasks

    settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_URL = TOKEN, fake.base_url
    episode_row("BTC-USDT")
    Subscriber.objects.create(chat_id=1, mode="instant")
    Subscriber.objects.create(chat_id=2, mode="digest")
    assert tasks.send_digests_now() == 1
    assert fake.texts_to(1) == [] and len(fake.texts_to(2)) == 1
    assert tasks.send_instant_now() == 1
    assert len(fake.texts_to(1)) == 1 and len(fake.texts_to(2)) == 1


def test_a_subscriber_another_run_is_serving_is_skipped_then_told_once(fake: FakeTelegram, sender: TelegramSender):
    """Two runs overlap (one held up by a flood wait): the second skips the subscriber the
    first has claimed, and what the first sent is not sent again, even after the edge moved."""
    ep = episode_row(net=0.50)
    Subscriber.objects.create(chat_id=1, mode="instant")
    token, claimed = claim([Subscriber.Mode.INSTANT])  # the first run, still sending
    assert [sub.chat_id for sub in claimed] == [1]
    assert run_digests(sender, modes=[Subscriber.Mode.INSTANT]).subscribers == 0
    assert fake.texts_to(1) == []

    # The first run sends and lets go; the edge moves a little before the next run.
    [digest] = messages_for(claimed[0], [EpisodeView.from_row(ep)], {}, "https://dash.example/")
    assert deliver(sender, claimed[0], digest) is not None
    Subscriber.objects.filter(send_claim=token).update(send_claim="", sending_until=None)
    ep.net_edge_pct = 0.53
    ep.save()
    run_digests(sender, modes=[Subscriber.Mode.INSTANT])
    assert len(fake.texts_to(1)) == 1


def test_a_claim_left_by_a_run_that_died_expires(fake: FakeTelegram, sender: TelegramSender):
    episode_row()
    Subscriber.objects.create(chat_id=1, send_claim="dead-run", sending_until=timezone.now() - timedelta(seconds=1))
    run_digests(sender)
    assert len(fake.texts_to(1)) == 1 and Subscriber.objects.get().send_claim == ""


def test_subscribers_hear_that_the_data_is_degraded_once_and_when_it_is_back(
    fake: FakeTelegram, sender: TelegramSender, settings
):  # type: ignore[no-untyped-def]
    settings.REDIS_URL = ""
    reset_services()
    Subscriber.objects.create(chat_id=1, filters={})  # everything (no fees are known here)
    run_scan()  # no book at all: degraded
    run_digests(sender)
    run_digests(sender)
    [notice] = fake.texts_to(1)
    assert "Market data degraded" in notice and "is ingest running?" in notice

    get_services().store.write_books([book("binance", bid=99.9, ask=100.0), book("okx", bid=101.0, ask=101.1)])
    run_scan()
    run_digests(sender)
    texts = fake.texts_to(1)
    assert "back to normal" in texts[1] and "BTC-USDT" in texts[2]
    reset_services()
