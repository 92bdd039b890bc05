"""The bot's commands through a fake Bot API server and the real python-telegram-bot
polling loop: each command changes the database and replies; bad arguments get usage."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.management import call_command

from arbitrage.runtime.feed import ScanMessage
from arbitrage.runtime.services import get_services, reset_services
from exchanges.store.base import BookStore
from notifications.bot import serve
from notifications.models import Subscriber
from tests.factories import book, now_ms
from tests.fakes.telegram import TOKEN, FakeTelegram, fake_telegram
from tests.notifications.factories import episode_row


@contextmanager
def running_bot(fake: FakeTelegram) -> Iterator[None]:
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(serve(TOKEN, fake.base_url, stop)), daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        loop.close()


def ask(fake: FakeTelegram, chat_id: int, text: str, username: str = "alice") -> str:
    before = len(fake.texts_to(chat_id))
    fake.push_text(chat_id, text, username)
    deadline = time.monotonic() + 15
    while len(fake.texts_to(chat_id)) == before:
        assert time.monotonic() < deadline, f"no reply to {text!r}"
        time.sleep(0.02)
    return fake.texts_to(chat_id)[-1]


@pytest.fixture
def bot(transactional_db) -> Iterator[FakeTelegram]:  # type: ignore[no-untyped-def]
    with fake_telegram() as fake, running_bot(fake):
        yield fake


def test_a_subscriber_starts_sets_filters_and_mode_then_stops(bot: FakeTelegram):
    assert "Subscribed." in ask(bot, 7, "/start")
    sub = Subscriber.objects.get(chat_id=7)
    assert sub.is_active and sub.username == "alice"

    reply = ask(bot, 7, "/filter min_net_edge=0.3 symbol=btc/usdt,ETH exchange=Binance,okx type=spatial risk=all")
    assert reply.startswith("Filters saved.")
    sub.refresh_from_db()
    # The words of the WebSocket and REST filters, with the same meaning.
    assert sub.filters == {"symbol": "BTC-USDT,ETH", "exchange": "binance,okx", "type": "spatial", "min_net_edge": 0.3}
    assert "symbol=BTC-USDT,ETH · exchange=binance,okx · type=spatial · min_net_edge=0.3 · risk=all" in ask(
        bot, 7, "/filter"
    )
    # The words this bot took before still work.
    ask(bot, 7, "/filter edge=0.5 symbols=all risk=flagged")
    sub.refresh_from_db()
    assert sub.filters == {"exchange": "binance,okx", "type": "spatial", "min_net_edge": 0.5, "risk": "flagged"}
    ask(bot, 7, "/filter reset")
    sub.refresh_from_db()
    assert sub.filters == {"risk": "ok"}

    assert ask(bot, 7, "/mode instant") == "Mode set to instant."
    assert Subscriber.objects.get(chat_id=7).mode == "instant"

    assert "Unsubscribed" in ask(bot, 7, "/stop")
    assert not Subscriber.objects.get(chat_id=7).is_active
    assert "Welcome back." in ask(bot, 7, "/start")


def test_bad_arguments_get_a_short_usage_reply_and_change_nothing(bot: FakeTelegram):
    ask(bot, 7, "/start")
    assert ask(bot, 7, "/mode loud") == "Usage: /mode digest|instant|silent|off"
    assert "min_net_edge: &#x27;lots&#x27; is not a number" in ask(bot, 7, "/filter edge=lots")
    assert ask(bot, 7, "/filter symbol=<b>").startswith("symbol: &#x27;&lt;B&gt;&#x27; is neither an asset")
    assert ask(bot, 7, "/filter colour=red").startswith("Usage: /filter")
    assert ask(bot, 7, "/filter BTC").startswith("Usage: /filter")
    assert ask(bot, 7, "/dance") == "Unknown command. /help lists them."
    sub = Subscriber.objects.get(chat_id=7)
    assert (sub.mode, sub.filters) == ("digest", {"risk": "ok"})


def test_top_shows_the_best_open_opportunities_through_the_filters(bot: FakeTelegram):
    episode_row("BTC-USDT", net=0.4)
    episode_row("ETH-USDT", net=0.9)
    episode_row("SOL-USDT", net=2.0, risk_flag="extreme_edge")
    ask(bot, 7, "/start")
    reply = ask(bot, 7, "/top")
    assert reply.index("ETH-USDT") < reply.index("BTC-USDT") and "SOL-USDT" not in reply
    ask(bot, 7, "/filter symbol=BTC-USDT")
    assert "ETH-USDT" not in ask(bot, 7, "/top")


@pytest.fixture
def memory_store(settings) -> Iterator[BookStore]:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = ""
    reset_services()
    yield get_services().store
    reset_services()


def test_status_tells_the_last_scan_and_the_books_per_exchange(bot: FakeTelegram, memory_store: BookStore):
    assert ask(bot, 7, "/status").startswith("No scan yet.")
    memory_store.write_books([book("binance", "BTC-USDT"), book("okx", "BTC-USDT", ts=now_ms() - 3_600_000)])
    get_services().feed.publish(ScanMessage(now_ms(), [{}, {}]))
    reply = ask(bot, 7, "/status")
    assert "2 opportunities" in reply
    assert "binance: 1 fresh, 0 stale" in reply and "okx: 0 fresh, 1 stale" in reply


def test_a_reply_hit_by_flood_control_waits_and_arrives(bot: FakeTelegram, caplog):  # type: ignore[no-untyped-def]
    ask(bot, 7, "/start")
    bot.fail_next(7, 429, retry_after=1)
    started = time.monotonic()
    assert "/filter" in ask(bot, 7, "/help")
    assert time.monotonic() - started >= 1.0, "Telegram's retry_after was waited out"
    assert "telegram update failed" not in caplog.text


def test_help_lists_the_commands(bot: FakeTelegram):
    reply = ask(bot, 7, "/help")
    assert all(c in reply for c in ("/start", "/stop", "/filter", "/mode", "/top", "/status"))


def test_without_a_token_the_bot_command_says_it_is_off(settings, capsys):  # type: ignore[no-untyped-def]
    settings.TELEGRAM_BOT_TOKEN = ""
    call_command("telegram_bot")
    assert "TELEGRAM_BOT_TOKEN is empty" in capsys.readouterr().err
