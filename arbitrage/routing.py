"""WebSocket routes (served by config.asgi)."""

from django.urls import path

from arbitrage.consumers import OpportunitiesConsumer

websocket_urlpatterns = [
    path("ws/opportunities/", OpportunitiesConsumer.as_asgi()),
]
