"""The ScanFeed contract, run against both feeds: in memory and a Redis stream on the real
server (db 15, flushed around each test); and the scan message as outside data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st

from arbitrage.runtime.feed import MemoryScanFeed, RedisScanFeed, ScanFeed, ScanMessage, latest
from exchanges.store import StoreUnavailable
from tests import free_port
from tests.factories import opportunity

MAXLEN = 10
STREAM = "contract_feed"


@pytest.fixture(params=["memory", "redis"])
def feed(request: pytest.FixtureRequest) -> Iterator[ScanFeed]:
    if request.param == "memory":
        yield MemoryScanFeed(MAXLEN)
        return
    request.getfixturevalue("redis_client")  # flushed around the test
    redis_feed = RedisScanFeed(request.getfixturevalue("redis_url"), STREAM, MAXLEN)
    yield redis_feed
    redis_feed.close()


def message(ts: int, *symbols: str) -> ScanMessage:
    return ScanMessage.of(ts, [opportunity(symbol) for symbol in symbols])


def test_the_feed_returns_the_newest_messages_oldest_first(feed: ScanFeed) -> None:
    assert feed.read() == [] and latest(feed) is None
    sent = [message(i, "BTC-USDT") for i in range(4)]
    for scan in sent:
        feed.publish(scan)
    assert feed.read(3) == sent[1:]
    assert feed.read(1) == [sent[3]] and latest(feed) == sent[3]
    assert feed.read(0) == []


def test_the_feed_is_capped(feed: ScanFeed) -> None:
    for i in range(MAXLEN * 30):
        feed.publish(message(i))
    newest = list(range(MAXLEN * 29, MAXLEN * 30))
    assert [m.ts for m in feed.read(10_000)] == newest


def test_a_message_reads_back_as_it_was_published_to_the_last_digit(feed: ScanFeed) -> None:
    sent = message(1_750_000_000_123, "BTC-USDT", "ETH-BTC")
    feed.publish(sent)
    (got,) = feed.read(1)
    assert got == sent and got.as_dict()["type"] == "opportunities"


def test_junk_in_the_redis_stream_is_skipped(redis_client: redis.Redis, redis_url: str) -> None:
    redis_feed = RedisScanFeed(redis_url, STREAM, MAXLEN)
    redis_feed.publish(message(1))
    redis_client.xadd(STREAM, {"data": b"{not json"})
    redis_client.xadd(STREAM, {"other": b"{}"})
    redis_client.xadd(STREAM, {"data": b"[1]"})
    redis_client.xadd(STREAM, {"data": b'{"type": "opportunities", "ts": "soon", "items": []}'})
    redis_feed.publish(message(2))
    assert [m.ts for m in redis_feed.read(10)] == [1, 2]
    redis_feed.close()


def test_the_redis_stream_stays_near_its_cap(redis_client: redis.Redis, redis_url: str) -> None:
    redis_feed = RedisScanFeed(redis_url, STREAM, MAXLEN)
    for i in range(1000):
        redis_feed.publish(message(i))
    # MAXLEN ~ trims whole stream nodes (100 entries by default), never more than that late.
    assert redis_client.xlen(STREAM) <= MAXLEN + 100
    redis_feed.close()


def test_an_unreachable_redis_feed_raises_store_unavailable_naming_it() -> None:
    port = free_port()
    redis_feed = RedisScanFeed(f"redis://:hunter2@127.0.0.1:{port}/0")
    for operation in (lambda: redis_feed.publish(message(1)), redis_feed.read):
        with pytest.raises(StoreUnavailable) as caught:
            operation()
        assert f"redis://:***@127.0.0.1:{port}/0" in str(caught.value) and "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(redis_feed)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@given(
    raw=json_values | st.fixed_dictionaries({"type": st.just("opportunities"), "ts": json_values, "items": json_values})
)
def test_any_stored_value_is_a_scan_message_or_nothing(raw: object) -> None:
    parsed = ScanMessage.parse(raw)
    if parsed is not None:
        assert isinstance(parsed.ts, int) and not isinstance(parsed.ts, bool)
        assert all(isinstance(item, dict) for item in parsed.items)
        assert ScanMessage.parse(parsed.as_dict()) == parsed


def test_items_carry_their_episode_key_open_since_and_peak_from_the_previous_scan() -> None:
    btc, eth = opportunity("BTC-USDT", net=0.5), opportunity("ETH-USDT", net=0.4)
    first = ScanMessage.of(1_000, [btc])
    second = ScanMessage.of(6_000, [replace(btc, net_edge_pct=0.9), eth], first)
    third = ScanMessage.of(11_000, [replace(btc, net_edge_pct=0.7)], second)
    assert [(i["key"], i["open_since"], i["peak_net_edge_pct"]) for i in third.items] == [
        ("spatial|BTC-USDT|binance|okx", 1_000, 0.9)
    ]
    assert [(i["open_since"], i["peak_net_edge_pct"]) for i in second.items] == [(1_000, 0.9), (6_000, 0.4)]
    # Gone for one published scan: it opens again.
    again = ScanMessage.of(16_000, [eth], third)
    assert again.items[0]["open_since"] == 16_000


@given(st.lists(st.dictionaries(st.sampled_from(["key", "open_since", "peak_net_edge_pct"]), st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)))))  # fmt: skip
def test_a_previous_message_of_any_shape_never_breaks_the_next_one(items: list[dict[str, object]]) -> None:
    previous = ScanMessage(1, [dict(item) for item in items])
    message = ScanMessage.of(2, [opportunity(net=0.5)], previous)
    (item,) = message.items
    assert isinstance(item["open_since"], int) and item["open_since"] <= 2
    assert isinstance(item["peak_net_edge_pct"], float) and item["peak_net_edge_pct"] >= 0.5
