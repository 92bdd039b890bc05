"""A fake Coinbase (Advanced Trade): the public REST products and currencies, and the
market-data websocket `level2` channel.

Protocol as Coinbase documents it (Advanced Trade "WebSocket Overview", "Level2 channel",
"Heartbeats channel") and as ccxt/pro/coinbase.py consumes it:

- `GET /api/v3/brokerage/market/products` answers `{"products": [{"product_id": "BTC-USD",
  "base_currency_id": "BTC", "quote_currency_id": "USD", "base_increment": "0.00000001",
  "quote_increment": "0.01", "price_increment": "0.01", "product_type": "SPOT", ...}],
  "num_products": 1}`; with `product_type=FUTURE` it lists no product. ccxt also loads
  `GET /v2/currencies`, `/v2/currencies/crypto` and `/v2/exchange-rates`.
- Websocket (`wss://advanced-trade-ws.coinbase.com`): the client sends `{"type":
  "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"}` (one channel per
  message) and gets a `subscriptions` message listing everything the connection is
  subscribed to, `{"channel": "subscriptions", "client_id": "", "timestamp": "...",
  "sequence_num": 1, "events": [{"subscriptions": {"level2": ["BTC-USD"]}}]}`, then for
  each product `{"channel": "l2_data", "client_id": "", "timestamp":
  "2023-02-09T20:32:50.714964855Z", "sequence_num": 2, "events": [{"type": "snapshot",
  "product_id": "BTC-USD", "updates": [{"side": "bid", "event_time":
  "1970-01-01T00:00:00Z", "price_level": "21921.74", "new_quantity": "0.06317902"},
  ...]}]}` with the whole book, then `"type": "update"` events whose `new_quantity` is
  the level's new size ("0" removes it); sides are `bid` and `offer`. `unsubscribe` has
  the same shape and is answered with the `subscriptions` message.
- `sequence_num` counts the messages of one connection, every channel included, from 0:
  a number skipped is a message lost. There is no checksum.
- The `heartbeats` channel sends `{"channel": "heartbeats", ..., "events":
  [{"current_time": "...", "heartbeat_counter": 3049}]}` every second. Keepalive is the
  websocket protocol's own ping/pong; there is no application-level ping.
- A malformed request or unknown channel is answered `{"type": "error", "message":
  "..."}`.

A gap (`inject_gap`) is a message the connection never gets: the book changes, the
client hears nothing, and the connection's next message carries a sequence_num one
higher than it should. `corrupt_checksum` and `fail_snapshots` have nothing to act on
(no checksum, no REST snapshot).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, plain
from tests.fakes.server import Connection, FakeExchange, Subscription

FULL_DEPTH = 10_000  # the level2 snapshot is the whole book
SIDES = {"bids": "bid", "asks": "offer"}


class FakeCoinbase(FakeExchange):
    name = "coinbase"

    def __init__(self, books: list[TrueBook], **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self.sequence: dict[str, int] = {}  # next sequence_num, by connection id
        self.heartbeats: set[str] = set()  # connection ids subscribed to heartbeats
        self._heartbeat_counter = 0
        self._unsent_heartbeat = 0.0

    def ccxt_config(self) -> dict[str, Any]:
        return {"urls": {"api": {"rest": self.http_url, "ws": f"{self.ws_url}/ws"}}}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v3/brokerage/market/products", self.products)
        app.router.add_get("/v2/currencies", self.fiat_currencies)
        app.router.add_get("/v2/currencies/crypto", self.crypto_currencies)
        app.router.add_get("/v2/exchange-rates", self.exchange_rates)
        app.router.add_get("/ws", self.websocket)

    # --- REST ----------------------------------------------------------------------

    def _codes(self) -> tuple[list[str], list[str]]:
        bases = sorted({s.split("-")[0] for s in self.books})
        quotes = sorted({s.split("-")[1] for s in self.books} - set(bases))
        return bases, quotes

    async def products(self, request: web.Request) -> web.Response:
        self.stats["products"] += 1
        if request.query.get("product_type", "SPOT") != "SPOT":
            return web.json_response({"products": [], "num_products": 0})
        products = []
        for symbol, book in self.books.items():
            base, quote = symbol.split("-")
            tick, lot = plain(book.tick), plain(book.lot)
            products.append(
                {
                    "product_id": symbol,
                    "price": "0",
                    "price_percentage_change_24h": "0",
                    "volume_24h": "0",
                    "volume_percentage_change_24h": "0",
                    "base_increment": lot,
                    "quote_increment": tick,
                    "quote_min_size": "1",
                    "quote_max_size": "150000000",
                    "base_min_size": lot,
                    "base_max_size": "3400",
                    "base_name": base,
                    "quote_name": quote,
                    "watched": False,
                    "is_disabled": False,
                    "new": False,
                    "status": "online",
                    "cancel_only": False,
                    "limit_only": False,
                    "post_only": False,
                    "trading_disabled": False,
                    "auction_mode": False,
                    "product_type": "SPOT",
                    "quote_currency_id": quote,
                    "base_currency_id": base,
                    "fcm_trading_session_details": None,
                    "mid_market_price": "",
                    "alias": "",
                    "alias_to": [],
                    "base_display_symbol": base,
                    "quote_display_symbol": quote,
                    "view_only": False,
                    "price_increment": tick,
                    "display_name": symbol,
                    "product_venue": "CBE",
                }
            )
        return web.json_response({"products": products, "num_products": len(products)})

    async def fiat_currencies(self, request: web.Request) -> web.Response:
        _, quotes = self._codes()
        return web.json_response({"data": [{"id": code, "name": code, "min_size": "0.01"} for code in quotes]})

    async def crypto_currencies(self, request: web.Request) -> web.Response:
        bases, _ = self._codes()
        data = [
            {
                "asset_id": f"00000000-0000-0000-0000-{i:012d}",
                "code": code,
                "name": code,
                "color": "#000000",
                "sort_index": str(i),
                "exponent": "8",
                "type": "crypto",
                "address_regex": "^.+$",
            }
            for i, code in enumerate(bases)
        ]
        return web.json_response({"data": data})

    async def exchange_rates(self, request: web.Request) -> web.Response:
        bases, quotes = self._codes()
        return web.json_response({"data": {"currency": "USD", "rates": {code: "1" for code in bases + quotes}}})

    # --- websocket -----------------------------------------------------------------

    async def on_text(self, conn: Connection, text: str) -> None:
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            await self._send(conn, {"type": "error", "message": "Failure to parse message"})
            return
        kind, channel = request.get("type"), request.get("channel")
        if kind not in ("subscribe", "unsubscribe") or channel not in ("level2", "heartbeats"):
            await self._send(conn, {"type": "error", "message": f"Failure to subscribe: unknown channel {channel}"})
            return
        if channel == "heartbeats":
            if kind == "subscribe":
                self.heartbeats.add(conn.id)
            else:
                self.heartbeats.discard(conn.id)
            await self._send_subscriptions(conn)
            return
        product_ids = request.get("product_ids") or []
        unknown = [p for p in product_ids if p not in self.books]
        if unknown:
            await self._send(conn, {"type": "error", "message": f"Failure to subscribe: invalid product {unknown[0]}"})
            return
        if kind == "unsubscribe":
            for product in product_ids or list(conn.subscriptions):
                conn.subscriptions.pop(product, None)
            await self._send_subscriptions(conn)
            return
        subs = []
        for product in product_ids:
            self.stats["subscribes"] += 1
            sub = Subscription(product, FULL_DEPTH, channel="level2")
            conn.subscriptions[product] = sub
            subs.append(sub)
        await self._send_subscriptions(conn)
        for sub in subs:
            await self._send_book(conn, sub, "snapshot")

    async def tick_idle(self) -> None:
        self._unsent_heartbeat += self.interval
        if self._unsent_heartbeat < 1.0:
            return
        self._unsent_heartbeat = 0.0
        self._heartbeat_counter += 1
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f000 +0000 UTC")
        for conn in list(self.connections):
            if conn.id in self.heartbeats and not conn.ws.closed:
                event = {"current_time": now, "heartbeat_counter": str(self._heartbeat_counter)}
                await self._send_channel(conn, "heartbeats", [event])

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        if gap:
            # The message is lost on the way: the book moved, the number is used up.
            sub.view = self.view_of(self.books[sub.symbol], sub.depth)
            self.sequence[conn.id] = self.sequence.get(conn.id, 0) + 1
            return
        await self._send_book(conn, sub, "update")

    async def _send_book(self, conn: Connection, sub: Subscription, kind: str) -> None:
        new = self.view_of(self.books[sub.symbol], sub.depth)
        now = self._iso()
        if kind == "snapshot":
            bids, asks = sorted(new[0].items(), reverse=True), sorted(new[1].items())
            event_time = "1970-01-01T00:00:00Z"
        else:
            bids, asks = self.diff(sub.view, new)
            event_time = now
        sub.view = new
        updates = [
            {"side": SIDES[side], "event_time": event_time, "price_level": plain(p), "new_quantity": plain(q)}
            for side, levels in (("bids", bids), ("asks", asks))
            for p, q in levels
        ]
        await self._send_channel(conn, "l2_data", [{"type": kind, "product_id": sub.symbol, "updates": updates}], now)

    async def _send_subscriptions(self, conn: Connection) -> None:
        subscriptions: dict[str, list[str]] = {}
        if conn.subscriptions:
            subscriptions["level2"] = sorted(conn.subscriptions)
        if conn.id in self.heartbeats:
            subscriptions["heartbeats"] = []
        await self._send_channel(conn, "subscriptions", [{"subscriptions": subscriptions}])

    async def _send_channel(self, conn: Connection, channel: str, events: list[Any], now: str | None = None) -> None:
        number = self.sequence.get(conn.id, 0)
        self.sequence[conn.id] = number + 1
        message = {"channel": channel, "client_id": "", "timestamp": now or self._iso(), "sequence_num": number}
        await self._send(conn, {**message, "events": events})

    @staticmethod
    def _iso() -> str:
        # Coinbase prints nanoseconds; the clock here has microseconds.
        return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")

    @staticmethod
    async def _send(conn: Connection, message: dict[str, Any]) -> None:
        await conn.ws.send_str(orjson.dumps(message).decode())
