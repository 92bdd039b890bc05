"""Crypto.com Exchange (`book.{instrument}.{depth}` in SNAPSHOT_AND_UPDATE mode): the
snapshot comes on the socket, then deltas whose `pu` must equal the previous message's
`u`. Each delta also carries a `cs` checksum whose algorithm Crypto.com does not publish,
so nobody verifies it: the sequence ids are the only integrity check, and `checksum_ok`
stays None. What ccxt 4.5.90 leaves broken, and this module covers:

- A `pu` that does not follow on raises `ChecksumError` inside ccxt's message handler (not
  on the book's future): plain ccxt stops reading the socket, and the connector's frame
  guard drops the whole connection, every book on it. Here the gap is caught before ccxt
  sees the delta: the book is dropped, its deltas ignored, its future rejected with
  `InvalidNonce`, and the resync subscribes that one channel again (Crypto.com answers a
  subscription to a channel already subscribed with a fresh snapshot).
- A delta that arrives before the book's snapshot would make ccxt build a book from
  nothing and raise on the sequence: it is ignored.
- ccxt's requests carry no `id`, so an error reply (a refused subscription, the rate
  limit, the channel limit) cannot be matched and its watch waits forever. Requests get an
  id here, and an error rejects the futures of the books that request subscribed.
- Every book shares one connection, which Crypto.com limits to 400 channels: books are
  spread over connections of at most 400 (the url's fragment tells ccxt's clients apart;
  it never reaches the server).
"""

from __future__ import annotations

import contextlib
from typing import Any

import ccxt.pro
from ccxt.base.errors import ExchangeError, InvalidNonce

from exchanges.connectors.exchanges.base import ExchangeAdapter
from exchanges.connectors.integrity import FailureKind, TrackedBook, failure_kind
from exchanges.registry import ExchangeInfo

CHANNELS_PER_CONNECTION = 400


class CheckedCryptocom(ccxt.pro.cryptocom):
    """ccxt's cryptocom with gaps handled per book, error replies matched to their books,
    and at most 400 channels a connection."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._resyncing: set[str] = set()  # symbols whose deltas wait for a fresh snapshot
        self._requests: dict[str, list[str]] = {}  # request id -> message hashes it subscribed
        self._topics: dict[str, tuple[str, dict[str, Any]]] = {}  # message hash -> (channel, params)
        self._shards: dict[str, int] = {}  # channel -> connection number

    # --- subscriptions ---------------------------------------------------------------

    def book_url(self, topic: str) -> str:
        shard = self._shards.get(topic)
        if shard is None:
            shard = len(self._shards) // CHANNELS_PER_CONNECTION
            self._shards[topic] = shard
        url: str = self.urls["api"]["ws"]["public"]
        return url if shard == 0 else f"{url}#{shard}"

    async def watch_public_multiple(
        self, messageHashes: list[str], topics: list[str], params: dict[str, Any] | None = None
    ) -> Any:
        """ccxt's, with an `id` on the request (so an error reply names it) and the books'
        connection chosen by their channels."""
        params = params or {}
        if not topics or not topics[0].startswith("book."):
            return await super().watch_public_multiple(messageHashes, topics, params)
        url = self.book_url(topics[0])
        for topic in topics:
            self._shards.setdefault(topic, self._shards[topics[0]])
        # Only the channels not subscribed yet (ccxt would send them all again: a fresh
        # snapshot of every neighbour, and a refusal failing them all).
        subscribed = self.client(url).subscriptions
        missing = [(h, t) for h, t in zip(messageHashes, topics, strict=True) if h not in subscribed]
        request_id = self.incrementing_nonce()
        channels = [t for _, t in missing] or topics
        request = {"id": request_id, "method": "subscribe", "params": {"channels": channels}, "nonce": request_id}
        message = self.deep_extend(request, params)
        message["params"]["channels"] = channels
        self._requests[str(request_id)] = [h for h, _ in missing]
        extra = {k: v for k, v in message["params"].items() if k != "channels"}
        for message_hash, topic in zip(messageHashes, topics, strict=True):
            self._topics[message_hash] = (topic, extra)
        return await self.watch_multiple(url, messageHashes, message, messageHashes)

    def handle_error_message(self, client: Any, message: dict[str, Any]) -> bool:
        code = self.safe_string(message, "code")
        hashes = self._requests.get(str(message.get("id")))
        if code in (None, "", "0") or hashes is None:
            return bool(super().handle_error_message(client, message))
        error = ExchangeError(f"{self.id} subscription refused: {code} {message.get('message')}")
        for message_hash in hashes:
            client.subscriptions.pop(message_hash, None)  # the next watch call subscribes again
            client.reject(error, message_hash)
        return True

    # --- book messages ---------------------------------------------------------------

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> None:
        symbol = self.safe_market(self.safe_string(message, "instrument_name"))["symbol"]
        data = self.safe_dict(self.safe_list(message, "data"), 0) or {}
        if message.get("channel") == "book":  # a snapshot
            self._resyncing.discard(symbol)
            self.orderbooks.pop(symbol, None)
            super().handle_order_book(client, message)
            return
        book = self.orderbooks.get(symbol)
        if symbol in self._resyncing or book is None or book["nonce"] is None:
            return  # a book known wrong, or none yet: its snapshot is on the way
        if self.safe_integer(data, "pu") != book["nonce"]:
            # Dropped and ignored until the connector resyncs it (paced, adapter.resync).
            error = InvalidNonce(f"{self.id} {symbol}: delta pu {data.get('pu')} after u {book['nonce']}")
            self._resyncing.add(symbol)
            self.orderbooks.pop(symbol, None)
            client.reject(error, f"orderbook:{symbol}")
            return
        super().handle_order_book(client, message)

    # --- resync ----------------------------------------------------------------------

    def resync_book(self, client: Any, symbol: str) -> None:
        """Drop the book, ignore its deltas and subscribe its channel again: Crypto.com
        answers with a fresh snapshot."""
        self._resyncing.add(symbol)
        self.orderbooks.pop(symbol, None)
        message_hash = f"orderbook:{symbol}"
        known = self._topics.get(message_hash)
        if client is None or known is None or message_hash not in client.subscriptions:
            if client is not None:
                client.subscriptions.pop(message_hash, None)  # the next watch call subscribes
            return
        topic, extra = known
        request_id = self.incrementing_nonce()
        self._requests[str(request_id)] = [message_hash]
        request = {"id": request_id, "method": "subscribe", "params": {"channels": [topic], **extra}}
        self.spawn(self._send_quietly, client, {**request, "nonce": request_id})

    async def _send_quietly(self, client: Any, message: dict[str, Any]) -> None:
        # A send on a dead socket fails; the reconnect that follows subscribes everything.
        with contextlib.suppress(Exception):
            if self.enableRateLimit:
                await client.throttle(1)
            await client.send(message)

    def client_of(self, symbol: str) -> Any:
        known = self._topics.get(f"orderbook:{symbol}")
        return (self.clients or {}).get(self.book_url(known[0])) if known is not None else None


class CryptocomAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(CheckedCryptocom, info)

    def message_hash(self, exchange: Any, unified: str) -> str:
        return f"orderbook:{unified}"

    def classify(self, error: BaseException) -> FailureKind:
        # No checksum is verified on Crypto.com: ccxt's ChecksumError means `pu` did not follow on.
        return "sequence" if isinstance(error, InvalidNonce) else failure_kind(error)

    def resync_needed(self, kind: FailureKind) -> bool:
        # ccxt has no way back for one book: every failure is resynced here.
        return True

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        unified = book.market.unified
        exchange.resync_book(exchange.client_of(unified), unified)
        return True
