"""Kraken (websocket v2 `book` channel): there are no sequence numbers, so a missed update
raises nothing in ccxt, and ccxt's own checksum option crashes on the first snapshot (it
formats levels as strings that are floats by then). The CRC32 Kraken sends with every
message is the only integrity check there is; this module verifies it.

The checksum covers the top 10 asks (low to high) then the top 10 bids (high to low),
each level as price then quantity, printed with the pair's precision, the decimal point
and leading zeros removed; the CRC32 is compared as an unsigned integer. Prices and
quantities arrive as JSON numbers, so printing the floats ccxt keeps with the pair's
`pair_decimals` / `lot_decimals` restores the exact digits Kraken hashed.

On a mismatch the book is resubscribed on its own (unsubscribe, then subscribe: Kraken
refuses a second subscription to a book with "Already subscribed", and sends a snapshot
only to a new one); its updates are ignored until that snapshot arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import zlib
from typing import Any

import ccxt.pro
from ccxt.base.errors import ChecksumError

from exchanges.connectors.exchanges.base import ExchangeAdapter, HeldResolves
from exchanges.connectors.integrity import TrackedBook
from exchanges.registry import ExchangeInfo

CHECKSUM_LEVELS = 10
VALID_DEPTHS = (10, 25, 100, 500, 1000)


def _digits(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace(".", "").lstrip("0")


def kraken_checksum(asks: list[Any], bids: list[Any], price_decimals: int, qty_decimals: int) -> int:
    """Kraken's v2 book checksum over ccxt's levels ([price, qty] floats, best first)."""
    text = "".join(
        _digits(level[0], price_decimals) + _digits(level[1], qty_decimals)
        for side in (asks, bids)
        for level in side[:CHECKSUM_LEVELS]
    )
    return zlib.crc32(text.encode())


class CheckedKraken(ccxt.pro.kraken):
    """ccxt's kraken with the v2 book checksum verified on every message."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        # ccxt's own check raises inside its message handler, which silently ends the
        # connection's receive loop: it stays off whatever a config file says.
        self.options.setdefault("watchOrderBook", {})["checksum"] = False
        self.checksum_state: dict[str, bool | None] = {}
        self._resyncing: set[str] = set()
        self._decimals: dict[str, tuple[int, int]] = {}
        self._resubscriptions: set[asyncio.Future[None]] = set()

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> None:
        data = message.get("data")
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        symbol = first.get("symbol")
        kind = message.get("type")
        if not isinstance(symbol, str):
            return  # not a book message ccxt could apply either
        if symbol in self._resyncing:
            if kind != "snapshot":
                return  # an update to a book known wrong: the snapshot replaces it anyway
            self._resyncing.discard(symbol)
        if kind == "update" and symbol not in self.orderbooks:
            return  # ccxt would raise KeyError here, which silently ends its receive loop
        held = HeldResolves(client)
        super().handle_order_book(held, message)
        book = self.orderbooks.get(symbol)
        expected = first.get("checksum")
        if book is None or not isinstance(expected, int):
            self.checksum_state[symbol] = None
            held.release()
            return
        price_decimals, qty_decimals = self._precision(symbol)
        ok = kraken_checksum(book["asks"], book["bids"], price_decimals, qty_decimals) == expected
        self.checksum_state[symbol] = ok
        if ok:
            held.release()
            return
        self.request_resync(client, symbol)
        message_hash = self.get_message_hash("orderbook", None, symbol)
        client.reject(ChecksumError(f"{self.id} {self.orderbook_checksum_message(symbol)}"), message_hash)

    def request_resync(self, client: Any, symbol: str) -> None:
        """Ignore the book's updates and ask Kraken for a fresh snapshot of it."""
        self._resyncing.add(symbol)
        subscription = client.subscriptions.get(self.get_message_hash("orderbook", None, symbol))
        depth = subscription.get("limit") if isinstance(subscription, dict) else None
        future = asyncio.ensure_future(self._resubscribe(client, symbol, depth or VALID_DEPTHS[0]))
        self._resubscriptions.add(future)
        future.add_done_callback(self._resubscriptions.discard)

    async def _resubscribe(self, client: Any, symbol: str, depth: int) -> None:
        params = {"channel": "book", "symbol": [symbol], "depth": depth}
        # A send on a dead socket fails; the reconnect that follows resubscribes everything.
        with contextlib.suppress(Exception):
            for method in ("unsubscribe", "subscribe"):
                if self.enableRateLimit:
                    await client.throttle(1)
                await client.send({"method": method, "params": params, "req_id": self.request_id()})

    def _precision(self, symbol: str) -> tuple[int, int]:
        decimals = self._decimals.get(symbol)
        if decimals is None:
            market = self.markets.get(symbol) or {}
            info = market.get("info") or {}
            precision = market.get("precision") or {}
            decimals = (
                _places(info.get("pair_decimals"), precision.get("price")),
                _places(info.get("lot_decimals"), precision.get("amount")),
            )
            self._decimals[symbol] = decimals
        return decimals


def _places(decimals: Any, step: Any) -> int:
    """Decimal places from Kraken's `*_decimals`, else from ccxt's precision step (0.1 -> 1)."""
    if decimals is not None:
        return int(decimals)
    if isinstance(step, (int, float)) and 0 < step < 1:
        return round(-math.log10(step))
    return 8


class KrakenAdapter(ExchangeAdapter):
    def __init__(self, info: ExchangeInfo) -> None:
        super().__init__(CheckedKraken, info)

    def message_hash(self, exchange: Any, unified: str) -> str:
        return str(exchange.get_message_hash("orderbook", None, unified))

    def resync(self, exchange: Any, book: TrackedBook) -> bool:
        client = self.client_for(exchange, book)
        if client is None:
            return False
        exchange.request_resync(client, book.market.unified)
        return True

    def checksum_ok(self, exchange: Any, unified: str) -> bool | None:
        state: dict[str, bool | None] = exchange.checksum_state
        return state.get(unified)
