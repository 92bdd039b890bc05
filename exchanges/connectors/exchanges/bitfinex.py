"""Bitfinex (websocket v2 `book` channel, precision P0): no sequence numbers unless asked for,
and a CRC32 of the top 25 levels sent after each book iteration once the connection sets
the checksum flag (ccxt sends `{"event": "conf", "flags": 131072}` after its first book
snapshot). ccxt verifies that checksum, but what it does next breaks the book:

- On a mismatch it forgets the subscription and the book, so the next watch call sends
  `subscribe` again on the same connection. Bitfinex refuses a channel already subscribed
  (error 10301, "subscribe: dup"), ccxt ignores error events, and the channel's next update
  (a single level) is taken for a snapshot: a book of one level, then of a few, each
  resolved as a good one until the next checksum fails again. It never recovers.
- Error replies (a subscription refused: a symbol unknown, the 25-channel limit of a
  connection, a failure) are ignored: the watch waits forever.
- Its own checksum prints the floats it keeps without exponents, where Bitfinex hashes
  numbers as JavaScript prints them (`1e-7` below 1e-6): a book with such a level would
  never pass.
- Every book shares one connection, which Bitfinex limits to 25 channels.
- `{"event": "info", "code": 20051}` (the server restarts: reconnect) is ignored.

This module verifies the checksum itself (JavaScript's number format) and holds the updates
of a checksummed channel back until their checksum passes, so a wrong book is never handed
on; on a mismatch the book is dropped, its updates ignored, its future rejected with
`ChecksumError`, and the resync unsubscribes the channel (by its chanId) and subscribes it
again for a fresh snapshot. An error reply to a subscription rejects that book's future;
info 20051 drops the connection (the connector reconnects it).
Books are spread over connections of at most 25 channels (the url's fragment tells ccxt's
clients apart; it never reaches the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
import zlib
from decimal import Decimal
from typing import Any

import ccxt.pro
from ccxt.base.errors import ChecksumError, ExchangeError, NetworkError

from exchanges.connectors.exchanges.base import ExchangeAdapter, HeldResolves
from exchanges.connectors.integrity import FailureKind, TrackedBook, failure_kind
from exchanges.registry import ExchangeInfo

CHECKSUM_LEVELS = 25
CHANNELS_PER_CONNECTION = 25
CODE_DUPLICATE = 10301
CODE_RECONNECT = 20051


def js_number(value: float) -> str:
    """A float as JavaScript's Number#toString prints it (shortest round-trip digits; an
    exponent below 1e-6): 7364.8, 3, -0.00288831, 1e-7."""
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    exact = Decimal(repr(value))
    if abs(value) < 1e-6:
        sign, digits, exponent = exact.normalize().as_tuple()
        text = "".join(map(str, digits))
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{'-' if sign else ''}{mantissa}e{exponent + len(text) - 1}"  # type: ignore[operator]
    text = format(exact, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def bitfinex_checksum(bids: list[Any], asks: list[Any]) -> int:
    """Bitfinex's P0 book checksum over ccxt's levels ([price, size, count], best first):
    the top 25 interleaved `bid_price:bid_amount:ask_price:ask_amount`, an ask's amount
    negative; CRC32 as a signed 32-bit integer."""
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts += [js_number(bids[i][0]), js_number(bids[i][1])]
        if i < len(asks):
            parts += [js_number(asks[i][0]), js_number(-asks[i][1])]
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def _is_snapshot(message: list[Any]) -> bool:
    levels = message[1] if len(message) > 1 else None
    return isinstance(levels, list) and (not levels or isinstance(levels[0], list))


def _settle(watch: asyncio.Future[Any]) -> None:
    if not watch.cancelled():
        watch.exception()  # retrieved: failures reach the connector through its observer


class CheckedBitfinex(ccxt.pro.bitfinex):
    """ccxt's bitfinex with the book checksum verified before an update is handed on, a
    resync that Bitfinex accepts, subscription errors reported, and at most 25 channels a
    connection."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        # ccxt's own check is replaced by ours (handle_checksum below).
        self.options.setdefault("watchOrderBook", {})["checksum"] = False
        self.checksum_state: dict[str, bool | None] = {}
        self._resyncing: set[str] = set()  # symbols whose updates wait for a fresh snapshot
        self._checksummed: set[str] = set()  # symbols whose channel sends checksums
        self._held: dict[str, HeldResolves] = {}  # updates waiting for their checksum
        self._shards: dict[str, int] = {}  # market id -> connection number
        self.has = {**self.has, "watchOrderBookForSymbols": True}  # type: ignore[has-type]
        self._watches: set[asyncio.Future[Any]] = set()

    # --- where each book's channel lives ----------------------------------------------

    def book_url(self, market_id: str) -> str:
        shard = self._shards.get(market_id)
        if shard is None:
            shard = len(self._shards) // CHANNELS_PER_CONNECTION
            self._shards[market_id] = shard
        url: str = self.urls["api"]["ws"]["public"]
        return url if shard == 0 else f"{url}#{shard}"

    async def subscribe(self, channel: str, symbol: str, params: dict[str, Any] | None = None) -> Any:
        """ccxt's subscribe, on the book's own connection (books only)."""
        params = params or {}
        if channel != "book":
            return await super().subscribe(channel, symbol, params)
        if self.markets is None:
            await self.load_markets()
        market_id = self.market(symbol)["id"]
        url = self.book_url(market_id)
        client = self.client(url)
        message_hash = f"book:{market_id}"
        request = {"event": "subscribe", "channel": channel, "symbol": market_id}
        subscription = {"checksum": False}
        result = await self.watch(url, message_hash, self.deep_extend(request, params), message_hash, subscription)
        sub = client.subscriptions.get(message_hash)
        if isinstance(sub, dict) and sub.get("checksum") is not True:
            sub["checksum"] = True
            if not getattr(client, "ingest_checksum_flag", False):  # the flag is the connection's
                client.ingest_checksum_flag = True
                await client.send({"event": "conf", "flags": 131072})
        return result

    async def watch_order_book_for_symbols(
        self, symbols: list[str], limit: int | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        """One channel per symbol, as ccxt subscribes them; returns the first book resolved.
        The connector can then treat the books as one batch: a quiet book is resynced on its
        own instead of dropping the connection every book shares."""
        watches = [asyncio.ensure_future(self.watch_order_book(s, limit, params or {})) for s in symbols]
        for watch in watches:  # the others resolve (or fail, as reported to the observer) later
            self._watches.add(watch)
            watch.add_done_callback(self._watches.discard)
            watch.add_done_callback(_settle)
        done, _ = await asyncio.wait(watches, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()

    # --- book messages ---------------------------------------------------------------

    def handle_order_book(self, client: Any, message: list[Any], subscription: dict[str, Any]) -> None:
        symbol = self.safe_symbol(self.safe_string(subscription, "symbol"))
        if _is_snapshot(message):
            self._resyncing.discard(symbol)
            self.orderbooks.pop(symbol, None)
            self._held.pop(symbol, None)
            self.checksum_state[symbol] = None
            super().handle_order_book(client, message, subscription)
            return
        if symbol in self._resyncing or symbol not in self.orderbooks:
            return  # a book known wrong, or none yet: ccxt would take this level for a snapshot
        if symbol not in self._checksummed:
            super().handle_order_book(client, message, subscription)
            return
        held = self._held.get(symbol)
        if held is None:
            held = self._held[symbol] = HeldResolves(client)
        super().handle_order_book(held, message, subscription)

    def handle_checksum(self, client: Any, message: list[Any], subscription: dict[str, Any]) -> None:
        market_id = self.safe_string(subscription, "symbol")
        symbol = self.safe_symbol(market_id)
        book = self.orderbooks.get(symbol)
        expected = self.safe_integer(message, 2)
        if symbol in self._resyncing or book is None or expected is None:
            return
        self._checksummed.add(symbol)
        held = self._held.pop(symbol, None)
        ok = bitfinex_checksum(book["bids"], book["asks"]) == expected
        self.checksum_state[symbol] = ok
        if ok:
            if held is not None:
                held.release()
            return
        self._resyncing.add(symbol)
        self.orderbooks.pop(symbol, None)
        client.reject(ChecksumError(f"{self.id} {self.orderbook_checksum_message(symbol)}"), f"book:{market_id}")

    # --- events ----------------------------------------------------------------------

    def handle_message(self, client: Any, message: Any) -> None:
        if isinstance(message, dict) and message.get("event") == "error":
            self.handle_error_event(client, message)
            return
        if isinstance(message, dict) and message.get("event") == "info" and message.get("code") == CODE_RECONNECT:
            # The server is going away and asks for a reconnect; ccxt would sit on a dead socket.
            client.on_error(NetworkError(f"{self.id} asks to reconnect: {message.get('msg')} (info 20051)"))
            return
        super().handle_message(client, message)

    def handle_error_event(self, client: Any, message: dict[str, Any]) -> None:
        """A subscription refused: its book's watch fails (ccxt would wait forever)."""
        market_id = message.get("symbol")
        if message.get("channel") != "book" or not isinstance(market_id, str):
            return
        if message.get("code") == CODE_DUPLICATE:
            return  # subscribed already: its data keeps coming
        message_hash = f"book:{market_id}"
        client.subscriptions.pop(message_hash, None)  # the next watch call subscribes again
        text = f"{self.id} subscription to {market_id} refused: {message.get('code')} {message.get('msg')}"
        # Not BadSymbol, which would stop the connector: the market list says the symbol
        # exists, so the refusal is retried, paced, like a failed snapshot.
        client.reject(ExchangeError(text), message_hash)

    def handle_unsubscription_status(self, client: Any, message: dict[str, Any]) -> bool:
        chan_id = self.safe_string(message, "chanId")
        if f"unsubscribe:{chan_id}" not in client.subscriptions:
            client.subscriptions.pop(chan_id, None)  # one of our resyncs
            return True
        return bool(super().handle_unsubscription_status(client, message))

    # --- resync ----------------------------------------------------------------------

    def resync_book(self, symbol: str) -> None:
        """Drop the book, ignore its updates, and ask for a fresh snapshot: unsubscribe its
        channel, then subscribe it again (Bitfinex refuses a second subscription)."""
        market_id = self.market(symbol)["id"]
        client = (self.clients or {}).get(self.book_url(market_id))
        self._resyncing.add(symbol)
        self.orderbooks.pop(symbol, None)
        self._held.pop(symbol, None)
        message_hash = f"book:{market_id}"
        channel = self._channel_of(client, market_id) if client is not None else None
        if client is None or channel is None or message_hash not in client.subscriptions:
            # Nothing subscribed to resync: the next watch call subscribes afresh.
            if client is not None:
                client.subscriptions.pop(message_hash, None)
            return
        chan_id, subscribed = channel
        request = {"event": "subscribe", "channel": "book", "symbol": market_id}
        request.update({key: subscribed[key] for key in ("prec", "freq", "len") if key in subscribed})
        self.spawn(self._resubscribe, client, chan_id, request)

    async def _resubscribe(self, client: Any, chan_id: str, request: dict[str, Any]) -> None:
        # A send on a dead socket fails; the reconnect that follows subscribes everything.
        with contextlib.suppress(Exception):
            for message in ({"event": "unsubscribe", "chanId": int(chan_id)}, request):
                if self.enableRateLimit:
                    await client.throttle(1)
                await client.send(message)

    @staticmethod
    def _channel_of(client: Any, market_id: str) -> tuple[str, dict[str, Any]] | None:
        for key, value in client.subscriptions.items():
            if isinstance(value, dict) and value.get("channel") == "book" and value.get("symbol") == market_id:
                return str(key), value
        return None


class BitfinexAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(CheckedBitfinex, info)
        self._exchange: weakref.ReferenceType[Any] | None = None

    def create(self, config: Any) -> Any:
        exchange = super().create(config)
        self._exchange = weakref.ref(exchange)
        return exchange

    def message_hash(self, exchange: Any, unified: str) -> str:
        return f"book:{exchange.market(unified)['id']}"

    def symbol_of_hash(self, message_hash: str) -> str:
        # 'book:tBTCUSD', 'book:tDOGE:USD': the market id, not the unified symbol
        market_id = message_hash.partition(":")[2]
        exchange = self._exchange() if self._exchange is not None else None
        markets = (exchange.markets_by_id or {}).get(market_id) if exchange is not None else None
        return str(markets[0]["symbol"]) if markets else market_id

    def classify(self, error: BaseException) -> FailureKind:
        return failure_kind(error)

    def resync_needed(self, kind: FailureKind) -> bool:
        # Whatever went wrong, ccxt's own way back (subscribing again) is refused by
        # Bitfinex: every book is resynced here.
        return True

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        exchange.resync_book(book.market.unified)
        return True

    def checksum_ok(self, exchange: Any, unified: str) -> bool | None:
        state: dict[str, bool | None] = exchange.checksum_state
        return state.get(unified)
