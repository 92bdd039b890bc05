"""A line repeated every scan is said once a minute per key, with how many were held back."""

from __future__ import annotations

from kernel.throttle import Throttle


def test_one_event_per_key_per_period_and_the_count_held_back() -> None:
    now = [0.0]
    throttle = Throttle(60.0, clock=lambda: now[0])
    assert throttle.allow("okx|BTC-USDT") == 0
    assert throttle.allow("okx|BTC-USDT") is None
    assert throttle.allow("kraken|ETH-USDT") == 0, "keys are independent"
    now[0] = 59.9
    assert throttle.allow("okx|BTC-USDT") is None
    now[0] = 60.0
    assert throttle.allow("okx|BTC-USDT") == 2


def test_memory_stays_bounded_whatever_keys_come() -> None:
    throttle = Throttle(60.0, max_keys=100)
    for i in range(10_000):
        throttle.allow(f"junk-{i}")
    assert len(throttle._last) <= 100
