"""Telegram's limits hold for the deployment, not per process: senders in several workers
share their slots through Redis, so one chat never gets two messages within a second and
the overall rate stays under the limit, however many send at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from notifications.pacing import MemoryPacer, RedisPacer
from notifications.sender import SendPolicy, TelegramSender
from tests.fakes.telegram import TOKEN, FakeTelegram, fake_telegram


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with fake_telegram() as server:
        yield server


def send_from_two_workers(
    fake: FakeTelegram, pacers: tuple, policy: SendPolicy, messages: list[tuple[int, str]]
) -> None:  # type: ignore[type-arg]
    """Two senders (two workers' runs) sending their halves at the same time."""

    def run(pacer, share: list[tuple[int, str]]) -> None:  # type: ignore[no-untyped-def]
        with TelegramSender(TOKEN, fake.base_url, policy, pacer=pacer) as sender:
            for chat_id, text in share:
                sender.send(chat_id, text)

    threads = [threading.Thread(target=run, args=(pacer, messages[i::2])) for i, pacer in enumerate(pacers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def redis_pacers(redis_url: str) -> tuple[RedisPacer, RedisPacer]:
    prefix = f"pace-{uuid.uuid4().hex[:8]}:"
    return RedisPacer(redis_url, prefix), RedisPacer(redis_url, prefix)


def test_one_chat_gets_one_message_a_second_across_workers(fake: FakeTelegram, redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    send_from_two_workers(fake, redis_pacers(redis_url), SendPolicy(), [(7, f"m{i}") for i in range(4)])
    assert len(fake.sent) == 4
    gaps = [b - a for a, b in zip(fake.sent_at, fake.sent_at[1:], strict=False)]
    assert min(gaps) >= 0.95, gaps


def test_the_overall_rate_holds_across_workers(fake: FakeTelegram, redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    policy = SendPolicy(per_second=10.0)  # Telegram's 30 a second, scaled down to keep the test short
    send_from_two_workers(fake, redis_pacers(redis_url), policy, [(100 + i, f"m{i}") for i in range(24)])
    assert len(fake.sent) == 24
    times = sorted(fake.sent_at)
    # Arrival times at the fake carry the machine's jitter: one send held up 0.1 s lands
    # beside the next one. A 0.9 s window holds 10 slots of 0.1 s; a second worker pacing
    # itself alone would put about 18 there.
    busiest = max(sum(1 for t in times if start <= t < start + 0.9) for start in times)
    assert busiest <= 11, busiest


def test_each_process_alone_would_break_the_limit(fake: FakeTelegram) -> None:
    # What the shared slots prevent: two senders pacing themselves only.
    send_from_two_workers(fake, (MemoryPacer(), MemoryPacer()), SendPolicy(), [(7, f"m{i}") for i in range(4)])
    gaps = [b - a for a, b in zip(fake.sent_at, fake.sent_at[1:], strict=False)]
    assert min(gaps) < 0.5


def test_without_redis_a_sender_keeps_its_own_pace_and_says_so(fake: FakeTelegram, caplog) -> None:  # type: ignore[no-untyped-def]
    pacer = RedisPacer("redis://127.0.0.1:1/0")
    send_from_two_workers(fake, (pacer, pacer), SendPolicy(), [(7, "a"), (7, "b")])
    assert len(fake.sent) == 2 and fake.sent_at[1] - fake.sent_at[0] >= 0.95
    assert any("falls back to this process alone" in r.getMessage() for r in caplog.records)
