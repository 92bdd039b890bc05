"""A fake Bitstamp: REST `markets` and `order_book`, and the websocket v2 `diff_order_book`
channel.

Protocol as Bitstamp documents it (HTTP API v2, "Websocket API v2") and as
ccxt/pro/bitstamp.py consumes it:

- `GET /api/v2/markets/` lists the pairs: `[{"name": "BTC/USD", "market_symbol": "btcusd",
  "base_currency": "BTC", "base_decimals": 8, "counter_currency": "USD",
  "counter_decimals": 1, "minimum_order_value": "10", "trading": "Enabled",
  "description": "Bitcoin / U.S. dollar", "market_type": "SPOT", ...}]`.
- `GET /api/v2/order_book/btcusd/` answers `{"timestamp": "1641343695", "microtimestamp":
  "1641343695681418", "bids": [["8750.0", "1.33685271"]], "asks": [...]}`: the whole book
  as of the change whose diff event carries that same microtimestamp. The snapshot lags
  the stream (in captured traffic by a second or two): it is served `snapshot_lag` book
  changes behind.
- Websocket (`wss://ws.bitstamp.net`): `{"event": "bts:subscribe", "data": {"channel":
  "diff_order_book_btcusd"}}` is answered `{"event": "bts:subscription_succeeded",
  "channel": "diff_order_book_btcusd", "data": {}}`; then events `{"data": {"timestamp":
  "1641343691", "microtimestamp": "1641343691244908", "bids": [["1.15979",
  "993.02588113"]], "asks": [["1.17484", "0.00000000"]]}, "channel":
  "diff_order_book_btcusd", "event": "data"}` with the changed levels (amount 0 removes
  one). Prices carry the pair's counter decimals, amounts 8 decimals. `bts:unsubscribe`
  is answered `bts:unsubscription_succeeded`; a bad channel `{"event": "bts:error",
  "channel": "", "data": {"code": null, "message": "Bad subscription string."}}`.
  `{"event": "bts:heartbeat"}` is answered `{"event": "bts:heartbeat", "channel": "",
  "data": {"status": "success"}}`; keepalive is otherwise the websocket's ping/pong.
- Before maintenance the server sends `{"event": "bts:request_reconnect", "channel": "",
  "data": ""}` and closes the connection a few seconds later (`request_reconnect()`).

There is neither a sequence number nor a checksum: microtimestamp only orders the events
of one channel. A gap (`inject_gap`) is an event the client never gets, and nothing on
the wire reveals it. `corrupt_checksum` has nothing to act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, fixed
from tests.fakes.server import Connection, FakeExchange, Subscription, View

FULL_DEPTH = 10_000
HISTORY = 64  # book states kept for lagging snapshots
CHANNEL = "diff_order_book_"


def decimals(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]


def pair_id(symbol: str) -> str:
    return symbol.replace("-", "").lower()


class FakeBitstamp(FakeExchange):
    name = "bitstamp"

    def __init__(self, books: list[TrueBook], *, snapshot_lag: int = 2, **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self.snapshot_lag = snapshot_lag
        self._by_pair = {pair_id(s): s for s in self.books}
        self.micro: dict[str, int] = {}  # microtimestamp of each book's last change
        self.history: dict[str, deque[tuple[int, View]]] = {s: deque(maxlen=HISTORY) for s in self.books}
        for symbol in self.books:
            self._record(symbol)
        self._closing: set[asyncio.Task[None]] = set()

    def ccxt_config(self) -> dict[str, Any]:
        return {"urls": {"api": {"public": f"{self.http_url}/api", "ws": f"{self.ws_url}/"}}}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v2/markets/", self.markets)
        app.router.add_get("/api/v2/order_book/{pair}/", self.order_book)
        app.router.add_get("/", self.websocket)

    # --- the book's history ---------------------------------------------------------

    def _record(self, symbol: str) -> None:
        now = int(time.time() * 1_000_000)
        self.micro[symbol] = max(now, self.micro.get(symbol, 0) + 1)
        self.history[symbol].append((self.micro[symbol], self.view_of(self.books[symbol], FULL_DEPTH)))

    def on_publish(self, symbol: str, gap: bool) -> None:
        self._record(symbol)

    # --- REST ----------------------------------------------------------------------

    async def markets(self, request: web.Request) -> web.Response:
        self.stats["markets"] += 1
        result = []
        for symbol, book in self.books.items():
            base, quote = symbol.split("-")
            result.append(
                {
                    "name": f"{base}/{quote}",
                    "market_symbol": pair_id(symbol),
                    "base_currency": base,
                    "base_decimals": decimals(book.lot),
                    "counter_currency": quote,
                    "counter_decimals": decimals(book.tick),
                    "minimum_order_value": "10",
                    "maximum_order_value": "5000000",
                    "minimum_order_amount": fixed(book.lot, decimals(book.lot)),
                    "maximum_order_amount": "1000",
                    "trading": "Enabled",
                    "instant_order_counter_decimals": 2,
                    "instant_and_market_orders": "Enabled",
                    "description": f"{base} / {quote}",
                    "market_type": "SPOT",
                }
            )
        return web.json_response(result)

    async def order_book(self, request: web.Request) -> web.Response:
        refused = self.snapshot_gate()
        if refused is not None:
            return refused
        symbol = self._by_pair.get(request.match_info["pair"])
        if symbol is None:
            return web.json_response({"status": "error", "reason": "Invalid pair", "code": "API0011"}, status=404)
        self.stats[f"snapshot_requests:{symbol}"] += 1
        history = self.history[symbol]
        micro, (bids, asks) = history[max(0, len(history) - 1 - self.snapshot_lag)]
        book = self.books[symbol]
        return web.json_response(
            {
                "timestamp": str(micro // 1_000_000),
                "microtimestamp": str(micro),
                "bids": [self._level(p, q, book) for p, q in sorted(bids.items(), reverse=True)],
                "asks": [self._level(p, q, book) for p, q in sorted(asks.items())],
            }
        )

    # --- websocket -----------------------------------------------------------------

    async def on_text(self, conn: Connection, text: str) -> None:
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            request = {}
        event = request.get("event") if isinstance(request, dict) else None
        if event == "bts:heartbeat":
            await self._send(conn, {"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}})
            return
        data = request.get("data") if isinstance(request, dict) else None
        channel = data.get("channel", "") if isinstance(data, dict) else ""
        symbol = self._by_pair.get(channel[len(CHANNEL) :]) if channel.startswith(CHANNEL) else None
        if event not in ("bts:subscribe", "bts:unsubscribe") or symbol is None:
            error = {"code": None, "message": "Bad subscription string."}
            await self._send(conn, {"event": "bts:error", "channel": "", "data": error})
            return
        if event == "bts:subscribe":
            self.stats["subscribes"] += 1
            sub = Subscription(symbol, FULL_DEPTH, channel=channel)
            sub.view = self.view_of(self.books[symbol], FULL_DEPTH)
            conn.subscriptions[symbol] = sub
            await self._send(conn, {"event": "bts:subscription_succeeded", "channel": channel, "data": {}})
        else:
            conn.subscriptions.pop(symbol, None)
            await self._send(conn, {"event": "bts:unsubscription_succeeded", "channel": channel, "data": {}})

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        book = self.books[sub.symbol]
        new = self.view_of(book, FULL_DEPTH)
        bids, asks = self.diff(sub.view, new)
        sub.view = new
        if gap:
            return  # lost on the way: nothing tells the client
        micro = self.micro[sub.symbol]
        data = {
            "timestamp": str(micro // 1_000_000),
            "microtimestamp": str(micro),
            "bids": [self._level(p, q, book) for p, q in bids],
            "asks": [self._level(p, q, book) for p, q in asks],
        }
        await self._send(conn, {"data": data, "channel": sub.channel, "event": "data"})

    async def request_reconnect(self, grace_sec: float = 3.0) -> None:
        """Bitstamp's maintenance notice: every connection is asked to reconnect, and cut
        `grace_sec` later if it is still open."""
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await self._send(conn, {"event": "bts:request_reconnect", "channel": "", "data": ""})
                task = asyncio.create_task(self._cut_later(conn, grace_sec))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        self.stats["reconnect_requests"] += 1

    async def _cut_later(self, conn: Connection, grace_sec: float) -> None:
        await asyncio.sleep(grace_sec)
        if conn in self.connections:
            self.stats["cut_after_request"] += 1
            if isinstance(conn.transport, asyncio.Transport):
                conn.transport.abort()
            self.connections.remove(conn)

    async def stop(self) -> None:
        for task in list(self._closing):
            task.cancel()
        await super().stop()

    @staticmethod
    def _level(price: Decimal, amount: Decimal, book: TrueBook) -> list[str]:
        return [fixed(price, decimals(book.tick)), fixed(amount, 8)]

    @staticmethod
    async def _send(conn: Connection, message: dict[str, Any]) -> None:
        await conn.ws.send_str(orjson.dumps(message).decode())
