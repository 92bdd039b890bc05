"""Bitget (v2 public `books` channel, spot): the snapshot comes on the socket after a
subscribe, then incremental updates, each with the CRC32 of the top 25 levels of the book
after it (`bid_px:bid_sz:ask_px:ask_sz:...` over the strings as sent, signed 32-bit) and a
`seq` that only ever increases (it orders messages; it is not contiguous, so a lost
update shows only in the next checksum).

ccxt verifies that checksum on updates, but what it does on a mismatch leaves the
connector blind and the book wrong: it awaits an unsubscribe before rejecting (a
mismatched book keeps its future pending meanwhile), the unsubscribe acknowledgement
rejects the book's watch with `UnsubscribeError` (which reads as a failed snapshot),
and the snapshot that comes after the resubscription, or after a reconnect, is applied
on top of the old book instead of replacing it (a level removed while the book was
wrong stays). It never checks the checksum of a snapshot, nor `seq`.

This module turns ccxt's check off and does its own, on every message: a snapshot
replaces the book; an update must carry a larger `seq` than the last one applied, and
leave the book with the checksum Bitget sent. On a mismatch the book is dropped, its
future rejected (`ChecksumError`, or `InvalidNonce` for a `seq` that went back) and the
channel resubscribed on its own (unsubscribe, subscribe: Bitget sends a snapshot only in
reply to a subscribe); its updates are ignored until that snapshot arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from typing import Any

import ccxt.pro
from ccxt.base.errors import ChecksumError, InvalidNonce

from exchanges.connectors.exchanges.base import ExchangeAdapter, HeldResolves
from exchanges.connectors.integrity import TrackedBook
from exchanges.registry import ExchangeInfo

CHECKSUM_LEVELS = 25


def bitget_checksum(bids: list[Any], asks: list[Any]) -> int:
    """Bitget's book checksum over (price string, size string) levels, best first."""
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts.extend((str(bids[i][0]), str(bids[i][1])))
        if i < len(asks):
            parts.extend((str(asks[i][0]), str(asks[i][1])))
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


class CheckedBitget(ccxt.pro.bitget):
    """ccxt's bitget with the `books` checksum and `seq` checked on every message."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        # ccxt's own check unsubscribes the book and leaves its stale levels under the
        # next snapshot: it stays off whatever a config file says.
        self.options.setdefault("watchOrderBook", {})["checksum"] = False
        self.checksum_state: dict[str, bool | None] = {}
        self.seqs: dict[str, int] = {}
        self._args: dict[str, dict[str, Any]] = {}
        self._resyncing: set[str] = set()
        self._resubscriptions: set[asyncio.Future[None]] = set()

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> None:
        arg = message.get("arg")
        data = message.get("data")
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None
        if not isinstance(arg, dict) or first is None or arg.get("channel") != "books":
            super().handle_order_book(client, message)  # fixed-depth snapshots (books5...)
            return
        market_type = "spot" if str(arg.get("instType", "")).lower() == "spot" else "contract"
        symbol: str = self.safe_market(arg.get("instId"), None, None, market_type)["symbol"]
        self._args[symbol] = dict(arg)
        seq = self.safe_integer(first, "seq")
        if message.get("action") == "snapshot":
            self._resyncing.discard(symbol)
            self.orderbooks.pop(symbol, None)  # a snapshot replaces the book, whatever it held
        else:
            if symbol in self._resyncing or symbol not in self.orderbooks:
                return  # a book known wrong, or none yet: the snapshot replaces it anyway
            last = self.seqs.get(symbol)
            if seq is not None and last is not None and seq <= last:
                self._fail(client, symbol, InvalidNonce(f"{self.id} {symbol} order book seq {seq} after {last}"))
                return
        if seq is not None:
            self.seqs[symbol] = seq
        held = HeldResolves(client)
        super().handle_order_book(held, message)
        book = self.orderbooks.get(symbol)
        expected = self.safe_integer(first, "checksum")
        if book is None or expected is None:
            self.checksum_state[symbol] = None
            held.release()
            return
        if seq is not None:
            book["nonce"] = seq
        # ccxt's counted book keeps each level's strings as sent in its third slot
        ok = bitget_checksum([level[2] for level in book["bids"]], [level[2] for level in book["asks"]]) == expected
        self.checksum_state[symbol] = ok
        if ok:
            held.release()
            return
        self._fail(client, symbol, ChecksumError(f"{self.id} {self.orderbook_checksum_message(symbol)}"))

    def _fail(self, client: Any, symbol: str, error: Exception) -> None:
        self.request_resync(client, symbol)
        client.reject(error, "orderbook:" + symbol)

    def request_resync(self, client: Any, symbol: str) -> bool:
        """Drop the book, ignore its updates and ask Bitget for a fresh snapshot of it.
        False when its channel is not known yet (no message of it arrived)."""
        arg = self._args.get(symbol)
        if arg is None:
            return False
        self._resyncing.add(symbol)
        self.orderbooks.pop(symbol, None)
        self.seqs.pop(symbol, None)
        future = asyncio.ensure_future(self._resubscribe(client, arg))
        self._resubscriptions.add(future)
        future.add_done_callback(self._resubscriptions.discard)
        return True

    async def _resubscribe(self, client: Any, arg: dict[str, Any]) -> None:
        # A send on a dead socket fails; the reconnect that follows resubscribes everything.
        with contextlib.suppress(Exception):
            for op in ("unsubscribe", "subscribe"):
                if self.enableRateLimit:
                    await client.throttle(1)
                await client.send({"op": op, "args": [arg]})

    def handle_order_book_un_subscription(self, client: Any, message: dict[str, Any]) -> None:
        arg = message.get("arg")
        if isinstance(arg, dict):
            market_type = "spot" if str(arg.get("instType", "")).lower() == "spot" else "contract"
            symbol = self.safe_market(arg.get("instId"), None, None, market_type)["symbol"]
            if symbol in self._resyncing:
                # Our own resync's: ccxt would forget the subscription (so the next watch
                # subscribes it twice) and fail the book's watch with UnsubscribeError.
                return
        super().handle_order_book_un_subscription(client, message)


class BitgetAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(CheckedBitget, info)

    def message_hash(self, exchange: Any, unified: str) -> str:
        return "orderbook:" + unified

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        client = self.client_for(exchange, book)
        if client is None:
            return False
        return bool(exchange.request_resync(client, book.market.unified))

    def checksum_ok(self, exchange: Any, unified: str) -> bool | None:
        state: dict[str, bool | None] = exchange.checksum_state
        return state.get(unified)
