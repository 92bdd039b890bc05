"""What the connector needs from a ccxt.pro exchange class beyond ccxt's public API.

`ObservedExchange` is mixed into each ccxt.pro class the connector instantiates. It
reports every order book a websocket client resolves and every error it rejects to the
connector (`BookObserver`). ccxt resolves a book's future on each update and deletes it;
a caller that awaits `watch_order_book_for_symbols` in a loop creates and races one
future per symbol per update and still misses updates that land between two awaits. The
observer sees them all, in the callback that applied them, and errors too: a gap on one
book rejects a future nobody may be awaiting at that moment.

`ExchangeAdapter` is the per-exchange knowledge: which ccxt class, what defaults, how
ccxt names a book's subscription, and how to make ccxt resync one book.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ccxt.async_support.base.ws.order_book import OrderBook
from ccxt.base.errors import NetworkError

from exchanges.connectors.base import describe_error
from exchanges.connectors.integrity import FailureKind, TrackedBook, failure_kind
from exchanges.registry import ExchangeInfo
from kernel.text import brief


class BookObserver(Protocol):
    def book_updated(self, url: str, message_hash: str, book: Any) -> None: ...

    def book_failed(self, url: str, message_hash: str, error: BaseException) -> bool:
        """True when the error was about one of the observer's books (and handled)."""
        ...

    def connection_failed(self, url: str, error: BaseException) -> None: ...


class ObservedExchange:
    """Mixin for a ccxt.pro exchange class: reports its clients' resolves and rejects."""

    ingest_observer: BookObserver | None = None

    def client(self, url: str) -> Any:
        client = super().client(url)  # type: ignore[misc]
        if not getattr(client, "_ingest_observed", False):
            _observe(self, client)
        return client


def _observe(exchange: ObservedExchange, client: Any) -> None:
    resolve, reject = client.resolve, client.reject

    def observed_resolve(result: Any, message_hash: Any) -> Any:
        observer = exchange.ingest_observer
        if observer is not None and isinstance(result, OrderBook):
            observer.book_updated(client.url, str(message_hash), result)
        return resolve(result, message_hash)

    def observed_reject(result: Any, message_hash: Any = None) -> Any:
        observer = exchange.ingest_observer
        if observer is None or client._ingest_broadcasting:
            return reject(result, message_hash)
        if message_hash is None:
            # A broadcast (connection lost): Client.reject calls us again once per future.
            client._ingest_broadcasting = True
            try:
                return reject(result, None)
            finally:
                client._ingest_broadcasting = False
                observer.connection_failed(client.url, result)
        awaited = message_hash in client.futures
        outcome = reject(result, message_hash)
        if observer.book_failed(client.url, str(message_hash), result) and not awaited:
            # Handled now. Left in `rejections`, it would fail the resubscription that
            # follows with this same stale error.
            client.rejections.pop(message_hash, None)
        return outcome

    handle_frame = client.handle_text_or_binary_message

    def guarded_handle_frame(data: Any) -> Any:
        try:
            return handle_frame(data)
        except Exception as exc:
            # ccxt reads the next frame only once this one is handled: a frame it cannot
            # parse (or handle) leaves the socket open and silent. It may have been a book
            # update, so the connection is dropped as lost and its books resynced.
            error = NetworkError(f"unreadable frame from the exchange ({brief(describe_error(exc))}): reconnecting")
            _drop(exchange, client, error)
            return None

    client.resolve = observed_resolve
    client.reject = observed_reject
    client.handle_text_or_binary_message = guarded_handle_frame
    client._ingest_broadcasting = False
    client._ingest_observed = True


_HASH_SYMBOL = re.compile(r"[:@]")


class ExchangeAdapter:
    """The generic case: a ccxt.pro class used as ccxt ships it."""

    def __init__(self, exchange_class: type, info: ExchangeInfo | None = None) -> None:
        """`info`: the exchange's registry entry (None for a ccxt exchange the product does
        not list), whose ccxt options and connector tuning are the defaults."""
        self.exchange_class = exchange_class
        self.ccxt_defaults: dict[str, Any] = info.ccxt_config(streaming=True) if info is not None else {}
        self.settings_defaults: dict[str, Any] = dict(info.connector) if info is not None else {}
        self._observed = type(f"Observed{exchange_class.__name__}", (ObservedExchange, exchange_class), {})

    def create(self, config: Mapping[str, Any]) -> Any:
        return self._observed(dict(config))

    def batched(self, exchange: Any) -> bool:
        """Whether one watch call can subscribe many symbols."""
        return bool(exchange.has.get("watchOrderBookForSymbols"))

    def message_hash(self, exchange: Any, unified: str) -> str | None:
        """ccxt's future name for a book, when known (it differs per exchange)."""
        return None

    def symbol_of_hash(self, message_hash: str) -> str:
        # ccxt hashes end in the unified symbol: 'orderbook::BTC/USDT', 'books:BTC/USDT',
        # 'orderbook@BTC/USD'. Spot symbols contain neither ':' nor '@'.
        return _HASH_SYMBOL.split(message_hash)[-1]

    def classify(self, error: BaseException) -> FailureKind:
        """What a rejection of one book's watch means on this exchange."""
        return failure_kind(error)

    def resync_needed(self, kind: FailureKind) -> bool:
        """Whether a failure of this kind leaves the book for us to resync. ccxt itself
        drops a book that failed its sequence, checksum or snapshot and resubscribes it on
        the next watch call; a book our own checks rejected, or a silent one, it keeps."""
        return kind in ("invalid", "silence")

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        """Make ccxt drop one book and resubscribe it on the next watch call. False when the
        exchange has no way to do that for one book: the connection is rebuilt instead."""
        return False

    def checksum_ok(self, exchange: Any, unified: str) -> bool | None:
        """Whether the last update of a book passed the exchange's checksum; None when the
        exchange sends none (or a zero) and only sequence numbers vouch for the book."""
        return None

    def client_for(self, exchange: Any, book: TrackedBook) -> Any:
        """The websocket client a book's subscription lives on, if any."""
        clients: dict[str, Any] = exchange.clients or {}
        if book.url is not None and book.url in clients:
            return clients[book.url]
        message_hash = self.message_hash(exchange, book.market.unified)
        for client in clients.values():
            if message_hash is not None and message_hash in client.subscriptions:
                return client
        return None

    def pending_dial_delay(self, exchange: Any) -> float:
        """Seconds until ccxt's own dial backoff (after failed handshakes) lets it connect."""
        now_ms = exchange.milliseconds()
        states = (getattr(exchange, "ws_dial_backoff", None) or {}).values()
        return max([(state["until"] - now_ms) / 1000 for state in states] + [0.0])

    def drop_connections(self, exchange: Any, urls: Iterable[str], error: BaseException) -> None:
        """Close websockets so the next watch dials afresh (no urls: every one of the
        exchange's). Their futures are rejected first: closing alone would cancel them
        under whoever awaits."""
        clients: dict[str, Any] = exchange.clients or {}
        for url in set(urls) or set(clients):
            client = clients.get(url)
            if client is not None:
                _drop(exchange, client, error)


def _drop(exchange: Any, client: Any, error: BaseException) -> None:
    """Forget a websocket, fail its futures with `error`, and close it."""
    clients: dict[str, Any] = exchange.clients or {}
    url: str = client.url
    if clients.get(url) is client:
        del clients[url]
    client.error = error  # so ccxt does not take the close for a server disconnect
    client.reject(error)
    closing = asyncio.ensure_future(client.close())
    closing.add_done_callback(_ignore_outcome)


def _ignore_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class HeldResolves:
    """A stand-in for a ccxt client that holds back `resolve` calls: lets an exchange class
    check a book ccxt just updated before anyone is told about it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.held: list[tuple[Any, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def resolve(self, result: Any, message_hash: Any) -> Any:
        self.held.append((result, message_hash))
        return result

    def release(self) -> None:
        for result, message_hash in self.held:
            self._client.resolve(result, message_hash)
        self.held.clear()


async def watch_each(exchange: Any, symbols: list[str], limit: int | None, params: dict[str, Any] | None) -> Any:
    """`watch_order_book_for_symbols` for a ccxt class that has none (gate, htx, mexc): one
    `watch_order_book` per symbol (ccxt puts them all on the one connection) and the first
    book that updates. The others stay subscribed; the connector sees them through its
    observer."""
    tasks = [asyncio.ensure_future(exchange.watch_order_book(s, limit, dict(params or {}))) for s in symbols]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()  # the wait for its next update only, not its subscription
            else:
                task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
