"""The soak's judgement, on made-up observations: what counts as a missed scan, a frozen
book, a lost message and memory growth."""

from __future__ import annotations

from soak.market import Fault
from soak.observe import Client, FrozenBooks, Memory, WebSocketClients
from soak.report import memory_growth, memory_timeline, scan_gaps, websocket_losses
from tests.factories import book


def test_a_gap_is_judged_against_the_fault_it_overlaps() -> None:
    ids = [0, 5_000, 10_000, 30_000, 35_000, 60_000]
    redis_down = Fault("redis: restarted", start=11.0, end=25.0)  # 14 s
    gaps, missed = scan_gaps(ids, 5.0, [redis_down])
    assert [(g.after_ms, g.seconds) for g in gaps] == [(10_000, 20.0), (35_000, 25.0)]
    explained, unexplained = gaps
    assert explained.fault == "redis: restarted" and explained.beyond_fault == 1.0 and not explained.violation
    assert unexplained.fault == "" and unexplained.violation
    assert missed == 3 + 4


def test_a_book_healthy_and_unchanged_is_frozen_from_its_last_change() -> None:
    frozen = FrozenBooks("redis://unused")
    moving, stuck = book("okx", "BTC-USDT", ts=1), book("okx", "ETH-USDT", ts=1)
    for second in range(10):
        moving = book("okx", "BTC-USDT", ts=1 + second)
        frozen.observe([moving, stuck], now=float(second))
    assert frozen.worst() == (("okx", "ETH-USDT"), 9.0)
    assert frozen.longest[("okx", "BTC-USDT")] == 0.0


def test_a_book_marked_unhealthy_is_not_frozen_however_long_it_waits() -> None:
    frozen = FrozenBooks("redis://unused")
    flagged = book("okx", "ETH-USDT", ts=1, healthy=False)
    for second in range(10):
        frozen.observe([flagged], now=float(second))
    assert frozen.worst() == (None, 0.0)


def test_messages_published_while_a_client_was_connected_and_not_received_are_lost() -> None:
    clients = WebSocketClients("ws://unused", "token", count=2)
    clients.clients = [Client(0, received={10_000, 20_000}, windows=[[0.0, 100.0]]), Client(1, windows=[[50.0, 60.0]])]
    # Client 0 missed 30 s and 55 s; client 1 missed 55 s; 200 s came after both left.
    assert websocket_losses(clients, [10_000, 20_000, 30_000, 55_000, 200_000]) == (5, 3)


def test_memory_growth_is_measured_after_warm_up_over_each_process_last_life() -> None:
    memory = Memory(stack=None)  # type: ignore[arg-type]
    for minute in range(20):
        t = minute * 60.0
        worker_life = 1 if minute < 10 else 2  # restarted at minute 10
        memory.samples.append(
            (t, {"ingest": 100_000 + minute * 1024, "worker": 50_000}, {"ingest": 1, "worker": worker_life})
        )
    growth = memory_growth(memory, warm_up_sec=120)
    start_mib, end_mib, ingest = growth["ingest"]
    assert ingest is not None and 0.14 < ingest < 0.16  # minutes 2-5 against the last minute
    assert round(start_mib) == 101 and round(end_mib) == 116
    assert growth["worker"][2] == 0.0


def test_memory_over_time_is_reported_every_five_minutes_and_at_the_end() -> None:
    memory = Memory(stack=None)  # type: ignore[arg-type]
    for second in range(0, 660, 15):
        memory.samples.append((1000.0 + second, {"daphne": 100 * 1024 + second}, {"daphne": 1}))
    timeline = memory_timeline(memory)
    assert [round(minute, 2) for minute, _ in timeline] == [0.0, 5.0, 10.0, 10.75]
    assert timeline[0][1] == {"daphne": 100}
