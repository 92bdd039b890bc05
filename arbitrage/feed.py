"""Publishing a scan's result: the capped `opportunities_feed` stream in the book store, and
the Channels group that WebSocket consumers join (DESIGN.md section 8 message shape)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from arbitrage.engine.types import Opportunity
from exchanges.store.base import BookStore

logger = logging.getLogger(__name__)

GROUP = "opportunities"


def scan_message(ts_ms: int, opportunities: list[Opportunity]) -> dict[str, Any]:
    return {"type": "opportunities", "ts": ts_ms, "items": [o.as_dict() for o in opportunities]}


def publish(store: BookStore, message: dict[str, Any]) -> None:
    """Send one scan's message to the stream and the channel group. Either may fail on its
    own (logged); neither stops the other or the scan."""
    try:
        store.publish_feed(message)
    except Exception:
        logger.exception("feed stream publish failed", extra={"ts": message.get("ts")})
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(GROUP, {"type": "scan.result", "message": message})
    except Exception:
        logger.exception("channel layer publish failed", extra={"ts": message.get("ts")})
