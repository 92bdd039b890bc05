"""Coinbase (Advanced Trade websocket, `level2` channel): ccxt applies the snapshot and the
updates and checks nothing. Coinbase sends no checksum; its only integrity signal is
`sequence_num`, which counts the messages of one connection (every channel) from 0, so a
number skipped is a message lost: ccxt ignores it, and the lost message may have changed
any book of the connection. This module checks it.

Coinbase closes a channel that sent nothing for 60-90 s unless the connection is also
subscribed to `heartbeats` (one message a second); ccxt never subscribes it. Here every
connection that carries level2 subscribes it once: quiet books stay subscribed, and a
lost message is noticed within a second even when the books are quiet.

On a skipped number every book subscribed on that connection is known possibly wrong:
each is rejected with `InvalidNonce` and resubscribed on its own (unsubscribe, then
subscribe: Coinbase sends a product's snapshot in reply to a subscribe); its updates are
ignored until that snapshot arrives. A book found silent or invalid by the connector is
resubscribed the same way. The book's `nonce` is the sequence_num of the message that
last changed it (meta.seq_id); there is no checksum to report (meta.checksum_ok null).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import ccxt.pro
from ccxt.base.errors import InvalidNonce

from exchanges.connectors.exchanges.base import ExchangeAdapter
from exchanges.connectors.integrity import TrackedBook
from exchanges.registry import ExchangeInfo

CHANNEL = "level2"
HEARTBEATS = "heartbeats"


class CheckedCoinbase(ccxt.pro.coinbase):
    """ccxt's coinbase with each connection's sequence_num checked for lost messages."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._resyncing: set[str] = set()  # unified symbols waiting for a fresh snapshot
        self._resubscriptions: set[asyncio.Future[None]] = set()

    def handle_message(self, client: Any, message: Any) -> Any:
        if isinstance(message, dict):
            number = message.get("sequence_num")
            if isinstance(number, int) and not isinstance(number, bool):
                expected = getattr(client, "ingest_next_sequence", None)
                # Lower than expected: a late duplicate, ignorable (Coinbase's own advice).
                if expected is None or number >= expected:
                    client.ingest_next_sequence = number + 1
                if expected is not None and number > expected:
                    self._lost_messages(client, expected, number)
        return super().handle_message(client, message)

    def handle_subscription_status(self, client: Any, message: dict[str, Any]) -> Any:
        events = message.get("events")
        first = events[0] if isinstance(events, list) and events and isinstance(events[0], dict) else {}
        channels = first.get("subscriptions")
        if not isinstance(channels, dict):
            return message  # not the Advanced Trade shape ccxt reads either
        if CHANNEL in channels and HEARTBEATS not in channels and not getattr(client, "ingest_heartbeats", False):
            client.ingest_heartbeats = True
            self._send_later(client, [{"type": "subscribe", "channel": HEARTBEATS}])
        return super().handle_subscription_status(client, message)

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> None:
        events = message.get("events")
        if not isinstance(events, list):
            return
        kept = []
        for event in events:
            if not isinstance(event, dict):
                continue
            symbol = self.safe_market(event.get("product_id"))["symbol"]
            if symbol in self._resyncing:
                if event.get("type") != "snapshot":
                    continue  # an update to a book known wrong: the snapshot replaces it
                self._resyncing.discard(symbol)
            kept.append(event)
        super().handle_order_book(client, {**message, "events": kept})
        number = message.get("sequence_num")
        if isinstance(number, int):
            for event in kept:
                book = self.orderbooks.get(self.safe_market(event.get("product_id"))["symbol"])
                if book is not None:
                    book["nonce"] = number

    def _lost_messages(self, client: Any, expected: int, number: int) -> None:
        """Messages `expected`..`number - 1` never arrived: every book of the connection
        may be wrong."""
        prefix = CHANNEL + "::"
        for message_hash in [h for h in client.subscriptions if isinstance(h, str) and h.startswith(prefix)]:
            symbol = message_hash[len(prefix) :]
            if symbol not in self.markets or symbol in self._resyncing:
                continue
            self.request_resync(client, symbol)
            error = InvalidNonce(f"{self.id} {symbol}: sequence_num {number} after {expected - 1}, messages lost")
            client.reject(error, message_hash)

    def request_resync(self, client: Any, symbol: str) -> None:
        """Ignore the book's updates and ask Coinbase for a fresh snapshot of it."""
        self._resyncing.add(symbol)
        product_id = self.market(symbol)["id"]
        requests = [
            {"type": kind, "product_ids": [product_id], "channel": CHANNEL} for kind in ("unsubscribe", "subscribe")
        ]
        self._send_later(client, requests)

    def _send_later(self, client: Any, requests: list[dict[str, Any]]) -> None:
        future = asyncio.ensure_future(self._send_all(client, requests))
        self._resubscriptions.add(future)
        future.add_done_callback(self._resubscriptions.discard)

    async def _send_all(self, client: Any, requests: list[dict[str, Any]]) -> None:
        # A send on a dead socket fails; the reconnect that follows resubscribes everything.
        with contextlib.suppress(Exception):
            for request in requests:
                if self.enableRateLimit:
                    await client.throttle(1)
                await client.send(request)


class CoinbaseAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(CheckedCoinbase, info)

    def message_hash(self, exchange: Any, unified: str) -> str:
        return f"{CHANNEL}::{unified}"

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        client = self.client_for(exchange, book)
        if client is None:
            return False
        exchange.request_resync(client, book.market.unified)
        return True
