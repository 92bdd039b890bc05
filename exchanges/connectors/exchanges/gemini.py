"""Gemini (websocket v1 multi-market data, one connection per batch, the symbols in its URL):
ccxt applies the `change` events and checks nothing. Gemini sends no checksum; its one
integrity signal is `socket_sequence`, which counts every message of a connection from 0
(heartbeats included), so a number skipped is a message lost. `eventId` only increases
and skips numbers: it orders, it does not count. This module checks socket_sequence.

- On a skipped number every book of that connection is known possibly wrong: each is
  rejected with `InvalidNonce`, the connection's later messages are ignored, and the
  connector rebuilds the connection (the symbols are in its URL: there is no resubscribing
  one of them). A book found silent or invalid is resynced the same way.
- ccxt applies the `initial` events of a new connection on top of the book it kept from
  the previous one, so levels removed meanwhile would stay for ever; here the book is
  emptied first.
- The book's `nonce` is the eventId of the last message applied (meta.seq_id); there is no
  checksum to report (meta.checksum_ok null).
"""

from __future__ import annotations

from typing import Any

import ccxt.pro
from ccxt.base.errors import InvalidNonce

from exchanges.connectors.exchanges.base import ExchangeAdapter
from exchanges.connectors.integrity import FailureKind
from exchanges.registry import ExchangeInfo


class CheckedGemini(ccxt.pro.gemini):
    """ccxt's gemini with each connection's socket_sequence checked for lost messages."""

    def handle_message(self, client: Any, message: Any) -> Any:
        if getattr(client, "ingest_broken", False):
            return None  # a message was lost here: nothing more from this socket is trusted
        if isinstance(message, dict):
            number = message.get("socket_sequence")
            if isinstance(number, int) and not isinstance(number, bool):
                expected = getattr(client, "ingest_next_sequence", 0)
                if number > expected:
                    self._lost_messages(client, expected, number)
                    return None
                if number == expected:
                    client.ingest_next_sequence = number + 1
                else:
                    return None  # a number already seen: a duplicate
        return super().handle_message(client, message)

    def handle_order_book_for_multidata(
        self, client: Any, rawOrderBookChanges: list[Any], timestamp: Any, nonce: Any
    ) -> Any:
        first = rawOrderBookChanges[0] if rawOrderBookChanges else {}
        if isinstance(first, dict) and first.get("reason") == "initial":
            symbol = self.safe_market(str(first.get("symbol", "")).lower())["symbol"]
            book = self.orderbooks.get(symbol)
            if book is not None:
                book.reset({})  # the initial events are the whole book, not changes to the old one
        return super().handle_order_book_for_multidata(client, rawOrderBookChanges, timestamp, nonce)

    def _lost_messages(self, client: Any, expected: int, number: int) -> None:
        client.ingest_broken = True
        for message_hash in [h for h in client.futures if isinstance(h, str) and h.startswith("orderbook:")]:
            self._reject(client, message_hash, expected, number)
        for symbol in self._symbols_of(client):
            message_hash = "orderbook:" + symbol
            if message_hash not in client.futures:
                self._reject(client, message_hash, expected, number)

    def _reject(self, client: Any, message_hash: str, expected: int, number: int) -> None:
        symbol = message_hash.split(":", 1)[1]
        error = InvalidNonce(f"{self.id} {symbol}: socket_sequence {number} after {expected - 1}, messages lost")
        client.reject(error, message_hash)

    def _symbols_of(self, client: Any) -> list[str]:
        """The unified symbols a multi-market-data connection streams (from its URL)."""
        url: str = client.url
        query = url.split("symbols=", 1)[1].split("&", 1)[0] if "symbols=" in url else ""
        symbols = []
        for market_id in query.split(","):
            market = self.safe_market(market_id.lower())
            if market.get("symbol") in self.markets:
                symbols.append(market["symbol"])
        return symbols


class GeminiAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(CheckedGemini, info)

    def message_hash(self, exchange: Any, unified: str) -> str:
        return f"orderbook:{unified}"

    def resync_needed(self, kind: FailureKind) -> bool:
        # ccxt resyncs nothing itself: a lost message is resynced by rebuilding the connection
        return kind in ("sequence", "invalid", "silence")

    # resync() stays the generic False: one book of a multi-market-data connection cannot
    # be resubscribed alone, so the connector rebuilds the batch's connection.
