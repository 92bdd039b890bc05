"""HTX (spot, market-by-price channel `market.<id>.mbp.150` on `/feed`): ccxt 4.5.90
subscribes, requests the full book (`req`) once HTX acknowledges, caches increments until
it arrives, and chains them by `prevSeqNum` = the book's `seqNum`. HTX sends no checksum;
the sequence numbers are the integrity check, and ccxt does check them, but badly:

- A live increment whose prevSeqNum is ahead of the book raises `ChecksumError` out of
  ccxt's message handler, which ends the connection's receive loop: the socket stays
  open and silent (the connector's frame guard turns that into a reconnect of every book
  on the connection). Here the break fails that one book with `InvalidNonce` and resyncs
  it on the live connection: its increments are cached again and a new `req` fetches its
  full book, exactly as ccxt does for a new subscription.
- ccxt takes a full book only once an increment has been cached before it arrives, and
  otherwise asks again a second later (three times, then `InvalidNonce`): a book that is
  quiet for a moment cannot sync. HTX's own rule needs no such wait (apply the full book,
  then the increments whose prevSeqNum follows on; nothing sent before the reply can
  arrive after it on the one connection), so a reply with nothing cached is taken as is.

ccxt's htx has no `watch_order_book_for_symbols` and all spot books share one connection:
the batch call is provided here (see gate.py) so one quiet book is not taken for a dead
connection. Only spot markets are loaded (`fetchMarkets.types` is a dict on htx).
"""

from __future__ import annotations

from typing import Any

import ccxt.pro
from ccxt.base.errors import ChecksumError, InvalidNonce

from exchanges.connectors.exchanges.base import ExchangeAdapter, watch_each
from exchanges.connectors.integrity import TrackedBook
from exchanges.registry import ExchangeInfo


class CheckedHtx(ccxt.pro.htx):
    """ccxt's htx with a sequence break resyncing one book instead of stalling the socket."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        # With ccxt's `checksum` option off, a break is not raised but every later
        # increment is skipped while the book keeps resolving: frozen, and looking alive.
        self.options.setdefault("watchOrderBook", {})["checksum"] = True

    async def watch_order_book_for_symbols(
        self, symbols: list[str], limit: int | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        return await watch_each(self, symbols, limit, params)

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> None:
        try:
            super().handle_order_book(client, message)
        except (ChecksumError, InvalidNonce):
            channel = str(message.get("ch"))
            parts = channel.split(".")
            symbol = self.safe_symbol(parts[1] if len(parts) > 1 else None)
            tick = message.get("tick") or {}
            book = self.orderbooks.get(symbol)
            nonce = book.get("nonce") if book is not None else None
            self.request_resync(client, symbol, channel, message)
            error = InvalidNonce(f"{self.id} {symbol}: prevSeqNum {tick.get('prevSeqNum')} does not follow {nonce}")
            client.reject(error, channel)

    def handle_order_book_snapshot(self, client: Any, message: dict[str, Any], subscription: dict[str, Any]) -> None:
        symbol, message_hash = subscription.get("symbol"), subscription.get("messageHash")
        book = self.orderbooks.get(symbol) if isinstance(symbol, str) else None
        data = message.get("data")
        seq = data.get("seqNum") if isinstance(data, dict) else None
        if book is None or book.cache or not isinstance(seq, int) or message_hash not in client.subscriptions:
            super().handle_order_book_snapshot(client, message, subscription)
            return
        # Nothing cached: the full book is the latest there is; increments chain onto it.
        snapshot = self.parse_order_book(data, symbol, self.safe_integer(message, "ts"))
        snapshot["nonce"] = seq
        book.reset(snapshot)
        client.resolve(book, self.safe_string(message, "id"))
        client.resolve(book, message_hash)

    async def watch_order_book_snapshot(self, client: Any, message: Any, subscription: Any) -> Any:
        try:
            return await super().watch_order_book_snapshot(client, message, subscription)
        except KeyError:
            # ccxt 4.5.90 deletes the subscription twice after an error reply to its `req`
            # (handle_error_message already did): the book's future was rejected already.
            return None

    def request_resync(
        self, client: Any, symbol: str, message_hash: str, message: dict[str, Any] | None = None
    ) -> bool:
        """Cache the book's increments from now on and request its full book. False when
        ccxt holds no subscription for it (its next watch call subscribes afresh)."""
        subscription = client.subscriptions.get(message_hash)
        if not isinstance(subscription, dict):
            return False
        book = self.orderbooks.get(symbol)
        if book is None:
            book = self.orderbooks[symbol] = self.order_book({})
        book["nonce"] = None
        book.cache = [message] if message is not None else []  # the first increment after the break
        self.spawn(self.watch_order_book_snapshot, client, message or {}, {**subscription, "numAttempts": 0})
        return True


class HtxAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(CheckedHtx, info)
        self._exchange: Any = None

    def create(self, config: Any) -> Any:
        self._exchange = super().create(config)
        return self._exchange

    def batched(self, exchange: Any) -> bool:
        return True

    def message_hash(self, exchange: Any, unified: str) -> str:
        depth = exchange.safe_integer(exchange.options.get("watchOrderBook") or {}, "depth", 150)
        return f"market.{exchange.market_id(unified)}.mbp.{depth}"

    def symbol_of_hash(self, message_hash: str) -> str:
        parts = message_hash.split(".")
        if self._exchange is not None and len(parts) == 4 and parts[0] == "market":
            return str(self._exchange.safe_symbol(parts[1]))
        return super().symbol_of_hash(message_hash)

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        client = self.client_for(exchange, book)
        if client is None:
            return False
        unified = book.market.unified
        # No subscription left: the connector's next watch call subscribes it afresh.
        exchange.request_resync(client, unified, book.message_hash or self.message_hash(exchange, unified))
        return True
