"""Episodes: one row per opportunity identity from first to last scan it appears in."""

from datetime import UTC, datetime, timedelta

import pytest

from arbitrage.audit import record_scan
from arbitrage.models import Episode
from tests.factories import opportunity

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def at(scan: int) -> datetime:
    return T0 + timedelta(seconds=5 * scan)


def test_an_opportunity_seen_in_three_scans_is_one_episode_that_closes_when_gone():
    record_scan([opportunity(net=0.4)], at(0), {"min_net_edge_pct": 0.1})
    record_scan([opportunity(net=0.9)], at(1), {"min_net_edge_pct": 0.1})
    record_scan([opportunity(net=0.6)], at(2), {"min_net_edge_pct": 0.1})
    stats = record_scan([], at(3), {})

    episode = Episode.objects.get()
    assert stats.closed == 1
    assert (episode.first_seen, episode.last_seen, episode.closed_at) == (at(0), at(2), at(3))
    assert episode.times_seen == 3
    assert episode.peak_net_edge_pct == 0.9
    assert episode.net_edge_pct == 0.6  # the latest value
    assert not episode.is_open
    assert episode.settings_snapshot == {"min_net_edge_pct": 0.1}


def test_reappearing_after_a_gap_opens_a_new_episode():
    record_scan([opportunity()], at(0), {})
    record_scan([], at(1), {})
    record_scan([opportunity()], at(2), {})
    assert Episode.objects.count() == 2
    assert Episode.objects.filter(is_open=True).get().first_seen == at(2)


def test_direction_and_symbol_make_distinct_episodes():
    record_scan(
        [opportunity(buy="binance", sell="okx"), opportunity(buy="okx", sell="binance"), opportunity("ETH-USDT")],
        at(0),
        {},
    )
    keys = set(Episode.objects.values_list("key", flat=True))
    assert keys == {
        "spatial|BTC-USDT|binance|okx",
        "spatial|BTC-USDT|okx|binance",
        "spatial|ETH-USDT|binance|okx",
    }


def test_evidence_and_risk_flags_are_kept_with_the_episode():
    found = opportunity()
    found.risk_flags = ["high_lag"]
    found.risk_flag = "high_lag"
    record_scan([found], at(0), {})
    episode = Episode.objects.get()
    assert episode.risk_flag == "high_lag"
    assert episode.details["risk_flags"] == ["high_lag"]


def test_a_cause_is_one_episode_whichever_of_its_cycles_is_best():
    def cycle(path: list[str], net: float):  # type: ignore[no-untyped-def]
        found = opportunity("", "okx", "okx", net)
        found.type, found.exchange, found.path = "triangular", "okx", path
        found.symbol, found.cause, found.variants = ">".join(path), "SOL>ETH@SOL-ETH", 3
        return found

    record_scan([cycle(["USDT", "SOL", "ETH", "USDT"], 0.5)], at(0), {})
    record_scan([cycle(["BTC", "SOL", "ETH", "BTC"], 0.7)], at(1), {})
    episode = Episode.objects.get()
    assert episode.key == "triangular|okx|SOL>ETH@SOL-ETH"
    assert (episode.times_seen, episode.path, episode.symbol) == (2, ["BTC", "SOL", "ETH", "BTC"], "BTC>SOL>ETH>BTC")
    assert (episode.details["variants"], episode.details["cause"]) == (3, "SOL>ETH@SOL-ETH")


def test_an_episode_keeps_its_net_edge_history_in_bounded_size():
    from dataclasses import replace

    from arbitrage.audit.episodes import HISTORY_POINTS

    scans = 3 * HISTORY_POINTS
    for scan in range(scans):
        found = replace(opportunity(net=0.1 + scan / 10_000), ts_detected=1_000 * scan)
        record_scan([found], at(scan), {})
    history = Episode.objects.get().details["history"]
    assert len(history) <= HISTORY_POINTS
    # The whole episode, oldest first, ending at the latest scan.
    assert history[0][0] < 1_000 * HISTORY_POINTS // 2
    assert history[-1] == [1_000 * (scans - 1), round(0.1 + (scans - 1) / 10_000, 4)]
    assert [t for t, _ in history] == sorted(t for t, _ in history)
