"""Beat's side of the cadence: the scan interval follows the admin's setting, and however
many beat processes run, exactly one sends tasks (the others stand by and take over when
it dies)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from arbitrage.models import ScannerSettings
from arbitrage.runtime.schedules import LeaderScheduler, ScannerIntervalSchedule
from arbitrage.runtime.services import reset_services
from config.celery import app


@pytest.mark.django_db
def test_beat_interval_follows_the_admin_setting_without_restart():
    schedule = ScannerIntervalSchedule(refresh_sec=0)
    ScannerSettings.load()
    schedule.is_due(schedule.now())
    assert schedule.run_every.total_seconds() == 5
    row = ScannerSettings.load()
    row.scan_interval_sec = 30
    row.save()
    schedule.is_due(schedule.now())
    assert schedule.run_every.total_seconds() == 30


class Beat(LeaderScheduler):
    """A beat process: what it would send is counted, nothing goes to a broker."""

    lease_sec = 0.6

    def __init__(self) -> None:
        self.sent: list[str] = []
        super().__init__(app, lazy=True)
        self.update_from_dict({"often": {"task": "arbitrage.tasks.scan", "schedule": 0.05}})

    def apply_entry(self, entry: Any, producer: Any = None) -> None:
        self.sent.append(entry.name)


@pytest.fixture
def redis_services(settings: Any, redis_url: str, redis_client: Any) -> Iterator[None]:
    settings.REDIS_URL = redis_url
    settings.BOOK_KEY_PREFIX = f"beat-{uuid.uuid4().hex[:8]}:"
    reset_services()
    yield
    reset_services()


def run_for(seconds: float, *beats: Beat) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for beat in beats:
            beat.tick()
        time.sleep(0.02)


def test_a_second_beat_does_not_double_the_cadence_and_takes_over_when_the_first_dies(redis_services):
    first, second = Beat(), Beat()
    run_for(1.0, first, second)
    assert len(first.sent) >= 5 and second.sent == [], "only the leader sends"

    # The leader dies without a word (SIGKILL): its lease runs out, the other takes over.
    died_at = time.monotonic()
    while not second.sent:
        assert time.monotonic() - died_at < 3 * Beat.lease_sec, "the standby never took over"
        run_for(0.05, second)
    assert time.monotonic() - died_at >= Beat.lease_sec * 0.5

    # A clean stop hands over at once.
    third = Beat()
    second.close()
    run_for(0.3, third)
    assert third.sent


@pytest.mark.django_db
def test_beat_sends_what_fell_due_as_soon_as_redis_is_back(settings: Any, throwaway_redis: Any) -> None:
    """Redis (the lease and the broker) restarts: beat looks again within half a second
    rather than a third of its lease (2 s), so the scan missed meanwhile goes out at once."""
    settings.REDIS_URL = throwaway_redis.url
    settings.BOOK_KEY_PREFIX = f"beat-{uuid.uuid4().hex[:8]}:"
    reset_services()
    beat = Beat()
    beat.lease_sec = LeaderScheduler.lease_sec
    try:
        run_for(0.3, beat)
        assert beat.sent, "it leads while Redis is up"
        throwaway_redis.stop()
        time.sleep(0.1)  # the scan falls due while Redis is away
        sent = len(beat.sent)
        assert beat.tick() <= 0.5 and len(beat.sent) == sent, "nothing sent, and a quick look again"
        throwaway_redis.start()
        assert beat.tick() <= beat.lease_sec / 3
        assert len(beat.sent) > sent, "the scan that fell due went out on the first tick back"
    finally:
        reset_services()
