"""Bybit (v5 public spot `orderbook.{depth}.{symbol}`): the snapshot comes on the socket
after a subscribe, then deltas whose update id `u` grows by exactly one per message of
the topic (a snapshot with `u` = 1 means Bybit restarted the service). There is no
checksum. ccxt applies every message as it comes: it never reads `u`, so a lost delta
leaves a wrong book that ccxt keeps serving, and a delta that arrives before any
snapshot is applied to an empty book. This module checks `u`.

On a gap the book is resubscribed on its own (unsubscribe, then subscribe: Bybit refuses
a topic already subscribed, and sends a snapshot only to a new subscription); its deltas
are ignored until that snapshot arrives, and its future is rejected with `InvalidNonce`.
ccxt's book carries `u` as its `nonce` (the stored book's seq_id).
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


class CheckedBybit(ccxt.pro.bybit):
    """ccxt's bybit with the order book's update id `u` required to follow on."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.update_ids: dict[str, int] = {}  # last `u` applied, by unified symbol
        self._topics: dict[str, str] = {}  # the book topic of each symbol
        self._resyncing: set[str] = set()
        self._resubscriptions: set[asyncio.Future[None]] = set()

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> None:
        data = message.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("s"), str):
            return  # not a book message ccxt could apply either
        market = self.safe_market(data["s"], None, None, "spot" if "spot" in client.url else "contract")
        symbol: str = market["symbol"]
        topic = message.get("topic")
        if isinstance(topic, str):
            self._topics[symbol] = topic
        update_id = data.get("u")
        if message.get("type") == "snapshot":
            self._resyncing.discard(symbol)
        else:
            last = self.update_ids.get(symbol)
            if symbol in self._resyncing or last is None:
                return  # a book known wrong, or none yet: the snapshot replaces it anyway
            if not isinstance(update_id, int) or update_id != last + 1:
                self.update_ids.pop(symbol, None)
                self.request_resync(client, symbol)
                error = InvalidNonce(f"{self.id} {symbol} order book update id {update_id} does not follow {last}")
                client.reject(error, "orderbook:" + symbol)
                return
        if isinstance(update_id, int):
            self.update_ids[symbol] = update_id
        super().handle_order_book(client, message)
        book = self.orderbooks.get(symbol)
        if book is not None and isinstance(update_id, int):
            book["nonce"] = update_id

    def request_resync(self, client: Any, symbol: str) -> bool:
        """Ignore the book's deltas and ask Bybit for a fresh snapshot of it. False when its
        topic is not known yet (no message of it arrived)."""
        topic = self._topics.get(symbol)
        if topic is None:
            return False
        self._resyncing.add(symbol)
        future = asyncio.ensure_future(self._resubscribe(client, topic))
        self._resubscriptions.add(future)
        future.add_done_callback(self._resubscriptions.discard)
        return True

    async def _resubscribe(self, client: Any, topic: str) -> None:
        # A send on a dead socket fails; the reconnect that follows resubscribes everything.
        with contextlib.suppress(Exception):
            for op in ("unsubscribe", "subscribe"):
                if self.enableRateLimit:
                    await client.throttle(1)
                await client.send({"op": op, "req_id": self.request_id(), "args": [topic]})


class BybitAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(CheckedBybit, info)

    def message_hash(self, exchange: Any, unified: str) -> str:
        return "orderbook:" + unified

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        client = self.client_for(exchange, book)
        if client is None:
            return False
        return bool(exchange.request_resync(client, book.market.unified))
