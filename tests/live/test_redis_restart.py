"""Full-mode delivery through a Redis that restarts: the WebSocket feed resumes with the
first scan published after Redis is back, not after the next group renewal."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken

from arbitrage.runtime.feed import ScanMessage, publish_scan
from arbitrage.runtime.services import get_services, reset_services
from config.asgi import application
from tests.factories import now_ms, opportunity
from tests.servers import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_mode(settings, throwaway_redis: RedisServer) -> Iterator[RedisServer]:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = throwaway_redis.url
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": throwaway_redis.url, "socket_timeout": 15}]},
        }
    }
    channel_layers.backends.clear()
    reset_services()
    yield throwaway_redis
    channel_layers.backends.clear()
    reset_services()


def scan(symbol: str) -> ScanMessage:
    return ScanMessage.of(now_ms(), [opportunity(symbol)])


async def publish(message: ScanMessage) -> None:
    """What the worker's scan does at its end, from a thread as in a Celery worker."""
    await sync_to_async(publish_scan, thread_sensitive=False)(get_services().feed, message)


async def symbols_of_next_message(client: WebsocketCommunicator, timeout: float) -> list[str]:
    message = await client.receive_json_from(timeout=timeout)
    return [item["symbol"] for item in message["items"]]


async def test_the_feed_resumes_with_the_first_scan_after_redis_restarts(redis_mode: RedisServer):
    user = await sync_to_async(get_user_model().objects.create_user)("trader", password="pw")
    client = WebsocketCommunicator(application, f"/ws/opportunities/?token={AccessToken.for_user(user)}")
    assert (await client.connect())[0]
    await publish(scan("BTC-USDT"))
    assert await symbols_of_next_message(client, 3) == ["BTC-USDT"]

    redis_mode.stop()
    await asyncio.sleep(0.5)
    await asyncio.to_thread(redis_mode.start)  # an empty Redis: every group membership is gone
    await asyncio.sleep(2.0)  # well under the 5 s between scans
    await publish(scan("ETH-USDT"))  # the first scan after Redis is back
    assert await symbols_of_next_message(client, 3) == ["ETH-USDT"]
    assert await client.receive_nothing(timeout=0.5), "each scan once"
    await client.disconnect()
