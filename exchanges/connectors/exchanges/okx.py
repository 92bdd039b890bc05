"""OKX: ccxt syncs the `books` channel and raises `InvalidNonce` on a seqId/prevSeqId gap,
but never checks the CRC32 checksum OKX sends with each message. This module checks it,
only when it is non-zero: OKX announced that from mid-2026 its JSON channels send 0 there
and that seqId/prevSeqId alone vouch for the book.

The checksum covers the top 25 levels interleaved `bid_px:bid_sz:ask_px:ask_sz:...`
with the strings exactly as OKX sent them, which ccxt does not keep (it stores floats,
and 0.10 becomes 0.1). The subclass records the strings of each level beside ccxt's book.
A mismatch is handled the way ccxt handles a gap: the book is dropped, its future
rejected with `ChecksumError`, and the channel marked for ccxt's own resync (unsubscribe
then subscribe: OKX sends a snapshot only in reply to a subscribe).
"""

from __future__ import annotations

import zlib
from typing import Any

import ccxt.pro
from ccxt.base.errors import ChecksumError

from exchanges.connectors.exchanges.base import ExchangeAdapter
from exchanges.connectors.integrity import TrackedBook
from exchanges.registry import ExchangeInfo

CHECKSUM_LEVELS = 25

RawSide = dict[float, tuple[str, str]]  # price -> (price string, size string)


def okx_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    """OKX's book checksum: CRC32 as a signed 32-bit integer."""
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts.extend(bids[i])
        if i < len(asks):
            parts.extend(asks[i])
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


class CheckedOkx(ccxt.pro.okx):
    """ccxt's okx with OKX's checksum verified whenever the message carries a non-zero one."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.checksum_state: dict[str, bool | None] = {}
        self._checksum_failed: set[str] = set()

    def handle_order_book_message(
        self, client: Any, message: dict[str, Any], orderbook: Any, messageHash: str, market: Any = None
    ) -> Any:
        raw: tuple[RawSide, RawSide] | None = getattr(orderbook, "ingest_raw", None)
        if raw is None:  # a new book (a snapshot): its own strings
            raw = orderbook.ingest_raw = ({}, {})
        for side, levels in zip(raw, (message.get("bids") or [], message.get("asks") or []), strict=True):
            for level in levels:
                price_text, size_text = str(level[0]), str(level[1])
                if float(size_text) == 0:
                    side.pop(float(price_text), None)
                else:
                    side[float(price_text)] = (price_text, size_text)
        result = super().handle_order_book_message(client, message, orderbook, messageHash, market)
        if messageHash not in client.subscriptions:
            return result  # ccxt found a sequence gap and already dropped the book
        symbol = orderbook["symbol"]
        expected = message.get("checksum")
        if not isinstance(expected, int) or expected == 0:
            self.checksum_state[symbol] = None
            return result
        ok = self._checksum(orderbook, raw) == expected
        self.checksum_state[symbol] = ok
        if not ok:
            del client.subscriptions[messageHash]
            self.orderbooks.pop(symbol, None)
            self._checksum_failed.add(messageHash)
            client.reject(ChecksumError(f"{self.id} {self.orderbook_checksum_message(symbol)}"), messageHash)
        return result

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> Any:
        result = super().handle_order_book(client, message)
        # ccxt marks a channel for resync after a gap in an update but not after a bad
        # snapshot; either way the next watch call must unsubscribe before subscribing.
        for message_hash in self._checksum_failed:
            client.subscriptions.setdefault(message_hash, "resync")
        self._checksum_failed.clear()
        return result

    @staticmethod
    def _checksum(orderbook: Any, raw: tuple[RawSide, RawSide]) -> int | None:
        """The checksum of ccxt's book in OKX's strings; None if a level has no strings."""
        tops: list[list[tuple[str, str]]] = []
        for strings, key in zip(raw, ("bids", "asks"), strict=True):
            levels = orderbook[key]
            if len(strings) > 2 * len(levels) + 100:
                # Levels ccxt trimmed beyond its depth never see a removal: forget them.
                kept = {level[0] for level in levels}
                for price in [p for p in strings if p not in kept]:
                    del strings[price]
            top = [strings.get(level[0]) for level in levels[:CHECKSUM_LEVELS]]
            if None in top:
                return None
            tops.append(top)  # type: ignore[arg-type]
        return okx_checksum(tops[0], tops[1])


class OkxAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(CheckedOkx, info)

    def message_hash(self, exchange: Any, unified: str) -> str:
        depth = exchange.handle_option_string_and_params({}, "watchOrderBook", "depth", "books")[0]
        return f"{depth}:{unified}"

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        # What ccxt itself does after a gap: no book, and the channel marked 'resync' so
        # the next watch call unsubscribes and subscribes it for a fresh snapshot.
        exchange.orderbooks.pop(book.market.unified, None)
        client = self.client_for(exchange, book)
        if client is not None:
            client.subscriptions[self.message_hash(exchange, book.market.unified)] = "resync"
        return True

    def checksum_ok(self, exchange: Any, unified: str) -> bool | None:
        state: dict[str, bool | None] = exchange.checksum_state
        return state.get(unified)
