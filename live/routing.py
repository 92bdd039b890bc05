"""WebSocket routes (served by config.asgi)."""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import path, re_path

from live.consumers import OpportunitiesConsumer

CLOSE_NOT_FOUND = 4404


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Any other WebSocket path is refused at the handshake (instead of an exception in the
    router for every mistyped URL)."""

    channel_layer_alias = None

    async def connect(self) -> None:
        await self.close(code=CLOSE_NOT_FOUND)


websocket_urlpatterns = [
    path("ws/opportunities/", OpportunitiesConsumer.as_asgi()),
    re_path(r"", UnknownPathConsumer.as_asgi()),
]
