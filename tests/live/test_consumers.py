"""WebSocket /ws/opportunities/ through the real ASGI application (session and JWT auth, the
in-memory channel layer, the book store), driven by Channels' WebsocketCommunicator."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from arbitrage.runtime.feed import GROUP, GROUP_EVENT, ScanMessage, publish_scan
from arbitrage.runtime.scan import run_scan
from arbitrage.runtime.services import get_services
from config.asgi import application
from live import consumers
from live.fanout import get_hub
from tests.factories import book, now_ms, opportunity

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/ws/opportunities/"


@pytest.fixture
def store(settings):
    from arbitrage.runtime.services import reset_services

    settings.REDIS_URL = ""
    reset_services()
    yield get_services().store
    reset_services()


@pytest.fixture
def user():
    return get_user_model().objects.create_user("trader", password="pw-for-tests")


@pytest.fixture
def token(user) -> str:
    return str(AccessToken.for_user(user))


@pytest.fixture
def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def cycle():
    return replace(
        opportunity("ETH-BTC", "okx", "okx", 0.3),
        type="triangular",
        exchange="okx",
        path=["USDT", "BTC", "ETH", "USDT"],
    )


def scan(*items, previous: dict | None = None, ts: int | None = None) -> dict:
    before = parsed(previous) if previous is not None else None
    return ScanMessage.of(ts or now_ms(), items, before).as_dict()


def parsed(message: dict) -> ScanMessage:
    scan_message = ScanMessage.parse(message)
    assert scan_message is not None
    return scan_message


async def streamed(message: dict) -> None:
    """A scan published before a client connects: in the stream, gone from the group."""
    await sync_to_async(get_services().feed.publish)(parsed(message))


async def broadcast(store, message: dict) -> None:
    """What the scan does at its end: the stream and the channel group."""
    await sync_to_async(publish_scan)(get_services().feed, parsed(message))


async def connected(path: str = URL, headers: list | None = None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, headers=headers or [])
    ok, _ = await communicator.connect()
    assert ok
    return communicator


async def joined(path: str) -> WebsocketCommunicator:
    """Connected, authenticated and listening: a ping is answered only after connect() ran."""
    communicator = await connected(path)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from() == {"type": "pong"}
    return communicator


async def closed_with(communicator: WebsocketCommunicator) -> int:
    output = await communicator.receive_output(timeout=2)
    assert output["type"] == "websocket.close"
    return output["code"]


async def test_without_credentials_nothing_but_an_auth_prompt_then_refused(store):
    client = await connected()
    prompt = await client.receive_json_from()
    assert prompt["type"] == "error" and prompt["code"] == "auth_required"
    await broadcast(store, scan(opportunity()))
    assert await client.receive_nothing(timeout=0.2)
    await client.send_json_to({"type": "subscribe", "filters": {}})
    refused = await client.receive_json_from()
    assert refused["code"] == "auth_required"
    assert await closed_with(client) == consumers.CLOSE_UNAUTHORIZED


@pytest.mark.parametrize("bad", ["garbage", "refresh"])
async def test_a_bad_or_wrong_kind_of_token_is_refused(store, user, bad):
    token = str(RefreshToken.for_user(user)) if bad == "refresh" else bad
    client = await connected(f"{URL}?token={token}")
    error = await client.receive_json_from()
    assert error["code"] == "auth_failed" and "/api/v1/auth/token/" in error["message"]
    assert await closed_with(client) == consumers.CLOSE_UNAUTHORIZED


async def test_a_token_for_a_deactivated_user_is_refused(store, user, token):
    user.is_active = False
    await sync_to_async(user.save)()
    client = await connected(f"{URL}?token={token}")
    assert (await client.receive_json_from())["code"] == "auth_failed"
    assert await closed_with(client) == consumers.CLOSE_UNAUTHORIZED


async def test_jwt_in_the_query_string_gets_the_latest_scan_at_once(store, token):
    await streamed(scan(opportunity("BTC-USDT")))
    latest = scan(opportunity("ETH-USDT"))
    await streamed(latest)
    client = await connected(f"{URL}?token={token}")
    message = await client.receive_json_from()
    assert message == latest
    assert set(message) == {"type", "ts", "items"}
    await client.disconnect()


async def test_session_cookie_of_a_logged_in_browser_is_enough(store, session_cookie):
    latest = scan(opportunity())
    await streamed(latest)
    client = await connected(
        headers=[(b"cookie", session_cookie), (b"origin", b"http://testserver"), (b"host", b"testserver")]
    )
    assert await client.receive_json_from() == latest
    await client.disconnect()


async def test_a_session_cookie_sent_from_another_site_does_not_count(store, session_cookie):
    headers = [(b"cookie", session_cookie), (b"origin", b"http://evil.example"), (b"host", b"testserver")]
    client = await connected(headers=headers)
    assert (await client.receive_json_from())["code"] == "auth_required"
    await client.disconnect()


async def test_first_message_auth_then_the_latest_scan(store, user, token):
    latest = scan(opportunity())
    await streamed(latest)
    client = await connected()
    assert (await client.receive_json_from())["code"] == "auth_required"
    await client.send_json_to({"type": "auth", "token": token})
    assert await client.receive_json_from() == {"type": "authenticated", "user": "trader"}
    assert await client.receive_json_from() == latest
    await client.disconnect()


async def test_first_message_auth_with_a_bad_token_is_refused(store):
    client = await connected()
    await client.receive_json_from()
    await client.send_json_to({"type": "auth", "token": "nope"})
    assert (await client.receive_json_from())["code"] == "auth_failed"
    assert await closed_with(client) == consumers.CLOSE_UNAUTHORIZED


async def test_silence_after_connecting_is_refused_after_the_auth_timeout(store, monkeypatch):
    monkeypatch.setattr(consumers, "AUTH_TIMEOUT_SEC", 0.1)
    client = await connected()
    await client.receive_json_from()
    assert (await client.receive_json_from())["code"] == "auth_timeout"
    assert await closed_with(client) == consumers.CLOSE_UNAUTHORIZED


async def test_no_scan_yet_means_no_message_until_the_first_scan(store, token):
    client = await connected(f"{URL}?token={token}")
    assert await client.receive_nothing(timeout=0.2)
    message = scan(opportunity())
    await broadcast(store, message)
    assert await client.receive_json_from() == message
    await client.disconnect()


async def test_a_scan_reaches_every_client_through_the_channel_layer(store, token):
    clients = [await joined(f"{URL}?token={token}") for _ in range(3)]
    await sync_to_async(store.write_books)(
        [book("binance", "BTC-USDT", bid=99.9, ask=100.0), book("okx", "BTC-USDT", bid=101.0, ask=101.1)]
    )
    report = await sync_to_async(run_scan)(persist=False)
    for client in clients:
        message = await client.receive_json_from()
        assert message["type"] == "opportunities" and message["ts"] == report.ts
        assert [(i["buy_exchange"], i["sell_exchange"]) for i in message["items"]] == [("binance", "okx")]
        await client.disconnect()


async def test_subscribe_filters_the_latest_scan_and_every_next_one(store, token):
    await streamed(scan(opportunity("BTC-USDT", net=0.5), cycle()))
    client = await connected(f"{URL}?token={token}")
    assert len((await client.receive_json_from())["items"]) == 2

    await client.send_json_to({"type": "subscribe", "filters": {"type": "triangular", "exchange": "OKX"}})
    assert await client.receive_json_from() == {
        "type": "subscribed",
        "filters": {"type": "triangular", "exchange": "okx"},
        "diffs": False,
    }
    assert [i["type"] for i in (await client.receive_json_from())["items"]] == ["triangular"]

    await broadcast(store, scan(opportunity("BTC-USDT", "okx", "binance"), opportunity("SOL-USDT", "kraken", "okx")))
    assert (await client.receive_json_from())["items"] == []

    await client.send_json_to({"type": "subscribe", "filters": {"symbol": "sol-usdt", "min_net_edge": 0.2}})
    await client.receive_json_from()
    assert [i["symbol"] for i in (await client.receive_json_from())["items"]] == ["SOL-USDT"]
    await client.disconnect()


async def test_clients_with_different_filters_see_one_scan_their_own_way(store, token):
    btc = await connected(f"{URL}?token={token}")
    eth = await connected(f"{URL}?token={token}")
    for client, symbol in ((btc, "BTC"), (eth, "ETH")):
        await client.send_json_to({"type": "subscribe", "filters": {"symbol": symbol}})
        await client.receive_json_from()
    await broadcast(store, scan(opportunity("BTC-USDT"), opportunity("ETH-USDT"), cycle()))
    assert [i["symbol"] for i in (await btc.receive_json_from())["items"]] == ["BTC-USDT", "ETH-BTC"]
    assert [i["symbol"] for i in (await eth.receive_json_from())["items"]] == ["ETH-USDT", "ETH-BTC"]
    await btc.disconnect()
    await eth.disconnect()


async def test_invalid_filters_are_explained_and_the_old_ones_stay(store, token):
    client = await connected(f"{URL}?token={token}")
    await client.send_json_to({"type": "subscribe", "filters": {"symbol": "BTC"}})
    await client.receive_json_from()
    await client.send_json_to(
        {"type": "subscribe", "filters": {"type": "futures", "colour": "red", "min_net_edge": "x"}}
    )
    error = await client.receive_json_from()
    assert error["type"] == "error" and error["code"] == "invalid_filters"
    assert set(error["errors"]) == {"type", "colour", "min_net_edge"}
    await broadcast(store, scan(opportunity("BTC-USDT"), opportunity("ETH-USDT")))
    assert [i["symbol"] for i in (await client.receive_json_from())["items"]] == ["BTC-USDT"]
    await client.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json at all", "bad_json"),
        ("[1, 2, 3]", "bad_message"),
        ('{"filters": {}}', "bad_message"),
        ('{"type": 42}', "bad_message"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "subscribe", "filters": "BTC"}', "invalid_filters"),
        ('{"type": "auth", "token": "x"}', "bad_message"),
    ],
)
async def test_junk_frames_are_answered_and_the_connection_stays_up(store, token, frame, code):
    client = await connected(f"{URL}?token={token}")
    await client.send_to(text_data=frame)
    error = await client.receive_json_from()
    assert error["type"] == "error" and error["code"] == code and error["message"]
    await client.send_json_to({"type": "ping"})
    assert await client.receive_json_from() == {"type": "pong"}
    message = scan(opportunity())
    await broadcast(store, message)
    assert await client.receive_json_from() == message
    await client.disconnect()


async def test_binary_frames_are_answered_too(store, token):
    client = await connected(f"{URL}?token={token}")
    await client.send_to(bytes_data=b"\x00\x01")
    assert (await client.receive_json_from())["code"] == "bad_frame"
    await client.disconnect()


async def test_a_malformed_broadcast_is_dropped_and_the_feed_goes_on(store, token):
    client = await joined(f"{URL}?token={token}")
    # Another writer on the channel layer (an older version, a bug) sends junk.
    junk = {"type": "opportunities", "ts": "soon", "items": None}
    await get_channel_layer().group_send(GROUP, {"type": GROUP_EVENT, "message": junk})
    assert await client.receive_nothing(timeout=0.2)
    message = scan(opportunity())
    await broadcast(store, message)
    assert await client.receive_json_from() == message
    await client.disconnect()


async def test_disconnected_clients_leave_the_hub(store, token):
    client = await connected(f"{URL}?token={token}")
    await client.disconnect()
    assert not get_hub().subscribers


async def test_the_feed_resumes_when_the_layer_forgot_the_group(store, token, monkeypatch):
    """A restarted or flushed Redis forgets group members: the hub joins again by itself."""
    from live import fanout

    monkeypatch.setattr(fanout, "GROUP_RENEW_SEC", 0.05)
    client = await joined(f"{URL}?token={token}")
    hub = get_hub()
    await hub.layer.group_discard(GROUP, hub._channel)
    await asyncio.sleep(0.2)
    message = scan(opportunity())
    await broadcast(store, message)
    assert await client.receive_json_from() == message
    await client.disconnect()


@pytest.mark.parametrize("path", ["/ws/nothing/", "/ws/opportunities", "/"])
async def test_other_websocket_paths_are_refused(path):
    communicator = WebsocketCommunicator(application, path)
    connected_, code = await communicator.connect()
    assert (connected_, code) == (False, 4404)


HOSTILE = [
    ("x" * 20_000, "frame_too_big", consumers.CLOSE_TOO_BIG),
    ("[" * 3000 + "]" * 3000, "hostile_frame", consumers.CLOSE_POLICY),  # 6 KB, 3,000 deep
    ('{"type": "subscribe", "filters": ' + "[" * 40 + "]" * 40 + "}", "hostile_frame", consumers.CLOSE_POLICY),
    ('{"type": "subscribe", "filters": {"symbol": "BTC\\u0000"}}', "hostile_frame", consumers.CLOSE_POLICY),
]


@pytest.mark.parametrize(("frame", "code", "close"), HOSTILE)
async def test_hostile_frames_after_login_are_refused_with_a_close_code(store, token, frame, code, close, caplog):
    client = await joined(f"{URL}?token={token}")
    await client.send_to(text_data=frame)
    error = await client.receive_json_from()
    assert error["type"] == "error" and error["code"] == code
    assert await closed_with(client) == close
    assert not [r for r in caplog.records if r.exc_info], "no traceback"


@pytest.mark.parametrize(("frame", "code", "close"), HOSTILE)
async def test_hostile_frames_before_login_are_refused_with_a_close_code(store, frame, code, close, caplog):
    client = await connected()
    assert (await client.receive_json_from())["code"] == "auth_required"
    await client.send_to(text_data=frame)
    assert (await client.receive_json_from())["code"] == code
    assert await closed_with(client) == close
    assert not [r for r in caplog.records if r.exc_info], "no traceback"


FRAME_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["type", "filters", "token"]), inner),
    max_leaves=12,
)
COMMANDS = st.fixed_dictionaries(
    {"type": st.sampled_from(["subscribe", "ping", "auth", "dance"])}, optional={"filters": FRAME_JSON}
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    frames=st.lists(
        st.one_of(st.text(min_size=1, max_size=120), FRAME_JSON.map(json.dumps), COMMANDS.map(json.dumps)), max_size=4
    )
)
def test_any_frames_get_an_answer_or_a_deliberate_close(store, token, frames) -> None:  # type: ignore[no-untyped-def]
    async def talk() -> None:
        client = await connected(f"{URL}?token={token}")
        for frame in frames:
            await client.send_to(text_data=frame)
            output = await client.receive_output(timeout=5)
            if output["type"] == "websocket.close":
                assert output["code"] in (consumers.CLOSE_TOO_BIG, consumers.CLOSE_POLICY), output
                return
            reply = json.loads(output["text"])
            assert reply["type"] in ("error", "pong", "subscribed"), reply
            if reply.get("code") in ("hostile_frame", "frame_too_big"):
                # the refusal is said first, then the socket closes with its code
                assert await closed_with(client) in (consumers.CLOSE_TOO_BIG, consumers.CLOSE_POLICY)
                return
        await client.send_json_to({"type": "ping"})
        assert await client.receive_json_from(timeout=5) == {"type": "pong"}
        await client.disconnect()

    async_to_sync(talk)()


async def test_a_client_that_asks_for_diffs_gets_one_full_scan_then_only_what_changed(store, token):
    btc, eth, sol = opportunity("BTC-USDT", net=0.5), opportunity("ETH-USDT", net=0.4), opportunity("SOL-USDT")
    first = scan(btc, eth, ts=1_000)
    await streamed(first)
    client = await connected(f"{URL}?token={token}")
    await client.receive_json_from()  # the latest scan, whole, on connect
    await client.send_json_to({"type": "subscribe", "filters": {}, "diffs": True})
    assert (await client.receive_json_from())["diffs"] is True
    held = await client.receive_json_from()
    assert held["type"] == "opportunities" and [i["symbol"] for i in held["items"]] == ["BTC-USDT", "ETH-USDT"]

    # BTC's edge moves, ETH goes, SOL comes; the evidence of unchanged rows moving is no change.
    second = scan(replace(btc, net_edge_pct=0.7), sol, previous=first, ts=2_000)
    await broadcast(store, first)  # the hub hears the scan the client holds, then the next
    await broadcast(store, second)
    diff = await client.receive_json_from()
    assert diff["type"] == "opportunities_diff" and (diff["ts"], diff["since"]) == (2_000, 1_000)
    assert [i["symbol"] for i in diff["added"]] == ["SOL-USDT"]
    assert [(i["symbol"], i["net_edge_pct"]) for i in diff["changed"]] == [("BTC-USDT", 0.7)]
    assert diff["removed"] == ["spatial|ETH-USDT|binance|okx"]

    third = scan(replace(btc, net_edge_pct=0.7, ts_detected=3_000), sol, previous=second, ts=3_000)
    await broadcast(store, third)
    quiet = await client.receive_json_from()
    assert (quiet["added"], quiet["changed"], quiet["removed"]) == ([], [], [])
    await client.disconnect()


async def test_a_client_that_asks_for_diffs_rebuilds_from_them_exactly_what_a_full_client_sees(store, token):
    """Whatever the scans, applying the diffs to the first full message gives the latest scan."""
    import random

    rng = random.Random(7)
    symbols = [f"A{i}-USDT" for i in range(12)]
    previous = scan(*(opportunity(s, net=0.5) for s in symbols[:6]), ts=1_000)
    await streamed(previous)
    diffs = await connected(f"{URL}?token={token}")
    await diffs.receive_json_from()
    await diffs.send_json_to({"type": "subscribe", "filters": {"min_net_edge": 0.3}, "diffs": True})
    await diffs.receive_json_from()
    held = {i["key"]: i for i in (await diffs.receive_json_from())["items"]}
    await broadcast(store, previous)
    for n in range(2, 8):
        chosen = rng.sample(symbols, rng.randint(0, len(symbols)))
        message = scan(
            *(opportunity(s, net=rng.choice([0.2, 0.5, 0.9])) for s in chosen), previous=previous, ts=n * 1_000
        )
        await broadcast(store, message)
        got = await diffs.receive_json_from()
        if got["type"] == "opportunities":
            held = {i["key"]: i for i in got["items"]}
        else:
            assert got["since"] == (n - 1) * 1_000
            for key in got["removed"]:
                del held[key]
            for item in got["added"] + got["changed"]:
                held[item["key"]] = item
        expected = [i for i in message["items"] if i["net_edge_pct"] >= 0.3]
        assert sorted(held) == sorted(i["key"] for i in expected)
        assert all(held[i["key"]]["net_edge_pct"] == i["net_edge_pct"] for i in expected)
        previous = message
    await diffs.disconnect()


async def test_diffs_must_be_true_or_false(store, token):
    client = await joined(f"{URL}?token={token}")
    await client.send_json_to({"type": "subscribe", "filters": {}, "diffs": "yes"})
    reply = await client.receive_json_from()
    if reply["type"] == "opportunities":
        reply = await client.receive_json_from()
    assert reply == {"type": "error", "code": "bad_message", "message": '"diffs" is true or false.'}
    await client.disconnect()
