"""A fake Kraken: REST `Assets` and `AssetPairs`, and the websocket v2 `book` channel.

Protocol as Kraken documents it (Spot WebSocket v2 `book`, "Book checksum (WebSocket v2)")
and as ccxt/pro/kraken.py consumes it:

- `GET /0/public/AssetPairs` answers `{"error": [], "result": {"XBTUSD": {"altname":
  "XBTUSD", "wsname": "XBT/USD", "base": "XXBT", "quote": "ZUSD", "pair_decimals": 1,
  "lot_decimals": 8, ...}}}`; `GET /0/public/Assets` lists the assets.
- Websocket `/v2`: on connect a `status` message. `{"method": "subscribe", "params":
  {"channel": "book", "symbol": ["BTC/USD"], "depth": 25}, "req_id": 1}` is acknowledged
  per symbol (`{"method": "subscribe", "result": {...}, "success": true, ...}`) and followed
  by `{"channel": "book", "type": "snapshot", "data": [{"symbol": "BTC/USD", "bids":
  [{"price": 45283.5, "qty": 0.10000000}], "asks": [...], "checksum": 3310070434}]}`, then
  `"type": "update"` messages with a `timestamp`. Subscribing to a book already
  subscribed on the connection is an error (`"error": "Already subscribed"`);
  `unsubscribe` ends a subscription. `{"channel": "heartbeat"}` about every second;
  `{"method": "ping"}` is answered with `{"method": "pong"}`.
- Prices and quantities are JSON numbers printed with the pair's full precision. The
  checksum is the unsigned CRC32 of the top 10 asks (low to high) then the top 10 bids
  (high to low), each level as price then qty with the decimal point and leading zeros
  removed. After an update the client truncates its book to the subscribed depth; the
  server sends the levels that come into scope.

There are no sequence numbers on Kraken: a gap is an update the client never gets, which
only the next checksum reveals.
"""

from __future__ import annotations

import datetime as dt
import zlib
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, fixed
from tests.fakes.server import Connection, FakeExchange, Subscription

CHECKSUM_LEVELS = 10
ASSET_CODES = {"BTC": "XXBT", "ETH": "XETH", "USD": "ZUSD", "EUR": "ZEUR"}  # Kraken's legacy names
WS_NAMES = {"BTC": "XBT"}


def decimals(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]


def kraken_checksum_part(price: str, qty: str) -> str:
    return price.replace(".", "").lstrip("0") + qty.replace(".", "").lstrip("0")


def kraken_checksum(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> int:
    text = "".join(kraken_checksum_part(p, q) for p, q in asks[:CHECKSUM_LEVELS])
    text += "".join(kraken_checksum_part(p, q) for p, q in bids[:CHECKSUM_LEVELS])
    return zlib.crc32(text.encode())


class FakeKraken(FakeExchange):
    name = "kraken"

    def __init__(self, books: list[TrueBook], **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self._unsent_heartbeat = 0.0

    def ccxt_config(self) -> dict[str, Any]:
        return {"urls": {"api": {"public": self.http_url, "ws": {"publicV2": f"{self.ws_url}/v2"}}}}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/0/public/AssetPairs", self.asset_pairs)
        app.router.add_get("/0/public/Assets", self.assets)
        app.router.add_get("/v2", self.websocket)

    # --- REST ----------------------------------------------------------------------

    async def assets(self, request: web.Request) -> web.Response:
        result = {}
        for code in sorted({part for symbol in self.books for part in symbol.split("-")}):
            result[ASSET_CODES.get(code, code)] = {
                "aclass": "currency",
                "altname": WS_NAMES.get(code, code),
                "decimals": 10,
                "display_decimals": 5,
                "collateral_value": 1.0,
                "status": "enabled",
            }
        return web.json_response({"error": [], "result": result})

    async def asset_pairs(self, request: web.Request) -> web.Response:
        self.stats["asset_pairs"] += 1
        result = {}
        for symbol, book in self.books.items():
            base, quote = symbol.split("-")
            altname = WS_NAMES.get(base, base) + WS_NAMES.get(quote, quote)
            result[ASSET_CODES.get(base, base) + ASSET_CODES.get(quote, quote)] = {
                "altname": altname,
                "wsname": f"{WS_NAMES.get(base, base)}/{WS_NAMES.get(quote, quote)}",
                "aclass_base": "currency",
                "base": ASSET_CODES.get(base, base),
                "aclass_quote": "currency",
                "quote": ASSET_CODES.get(quote, quote),
                "lot": "unit",
                "cost_decimals": 5,
                "pair_decimals": decimals(book.tick),
                "lot_decimals": decimals(book.lot),
                "lot_multiplier": 1,
                "leverage_buy": [],
                "leverage_sell": [],
                "fees": [[0, 0.4], [10000, 0.35]],
                "fees_maker": [[0, 0.25], [10000, 0.2]],
                "fee_volume_currency": "ZUSD",
                "margin_call": 80,
                "margin_stop": 40,
                "ordermin": fixed(book.lot, decimals(book.lot)),
                "costmin": "0.5",
                "tick_size": fixed(book.tick, decimals(book.tick)),
                "status": "online",
            }
        return web.json_response({"error": [], "result": result})

    # --- websocket -----------------------------------------------------------------

    async def on_connect(self, conn: Connection) -> None:
        status = {
            "channel": "status",
            "type": "update",
            "data": [{"version": "2.0.10", "system": "online", "api_version": "v2", "connection_id": 1234}],
        }
        await conn.ws.send_str(orjson.dumps(status).decode())

    async def on_text(self, conn: Connection, text: str) -> None:
        request = orjson.loads(text)
        method, req_id = request.get("method"), request.get("req_id")
        times = {"time_in": self._iso(), "time_out": self._iso()}
        if method == "ping":
            await self._send(conn, {"method": "pong", "req_id": req_id, **times})
            return
        params = request.get("params", {})
        if method not in ("subscribe", "unsubscribe") or params.get("channel") != "book":
            await self._send(conn, {"error": "Event(s) not found", "method": method, "success": False, **times})
            return
        depth = int(params.get("depth", 10))
        for symbol_name in params.get("symbol", []):
            symbol = symbol_name.replace("/", "-")
            base = {"channel": "book", "depth": depth, "symbol": symbol_name}
            if symbol not in self.books:
                error = f"Currency pair not supported {symbol_name}"
                await self._send(conn, {"error": error, "method": method, "req_id": req_id, "success": False, **times})
                continue
            if method == "unsubscribe":
                conn.subscriptions.pop(symbol, None)
                await self._send(conn, {"method": method, "result": base, "success": True, "req_id": req_id, **times})
                continue
            if symbol in conn.subscriptions:
                self.stats["already_subscribed"] += 1
                message = {"error": "Already subscribed", "method": method, "req_id": req_id, "success": False}
                await self._send(conn, {**message, "symbol": symbol_name, **times})
                continue
            self.stats["subscribes"] += 1
            result = {**base, "snapshot": True}
            await self._send(conn, {"method": method, "result": result, "success": True, "req_id": req_id, **times})
            sub = Subscription(symbol, depth, channel="book")
            conn.subscriptions[symbol] = sub
            await self._send_book(conn, sub, "snapshot", bad_checksum=False)

    async def tick_idle(self) -> None:
        self._unsent_heartbeat += self.interval
        if self._unsent_heartbeat < 1.0:
            return
        self._unsent_heartbeat = 0.0
        for conn in list(self.connections):
            if conn.subscriptions and not conn.ws.closed:
                await conn.ws.send_str('{"channel":"heartbeat"}')

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        if gap:
            sub.view = self.view_of(self.books[sub.symbol], sub.depth)  # the client never hears of it
            return
        await self._send_book(conn, sub, "update", bad_checksum)

    async def _send_book(self, conn: Connection, sub: Subscription, kind: str, bad_checksum: bool) -> None:
        book = self.books[sub.symbol]
        new = self.view_of(book, sub.depth)
        if kind == "snapshot":
            bids, asks = sorted(new[0].items(), reverse=True), sorted(new[1].items())
        else:
            bids, asks = self.diff(sub.view, new)
        sub.view = new
        pd, ld = decimals(book.tick), decimals(book.lot)
        top_asks = [(fixed(p, pd), fixed(q, ld)) for p, q in sorted(new[1].items())[:CHECKSUM_LEVELS]]
        top_bids = [(fixed(p, pd), fixed(q, ld)) for p, q in sorted(new[0].items(), reverse=True)[:CHECKSUM_LEVELS]]
        checksum = kraken_checksum(top_asks, top_bids)
        if bad_checksum:
            checksum ^= 1
        # Numbers go on the wire with the pair's full precision (0.10000000), which no JSON
        # library prints from a float: the levels are written by hand.
        levels = {
            "bids": "[" + ",".join(self._level(p, q, pd, ld) for p, q in bids) + "]",
            "asks": "[" + ",".join(self._level(p, q, pd, ld) for p, q in asks) + "]",
        }
        symbol_name = sub.symbol.replace("-", "/")
        timestamp = f',"timestamp":"{self._iso()}"' if kind == "update" else ""
        text = (
            f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{symbol_name}",'
            f'"bids":{levels["bids"]},"asks":{levels["asks"]},"checksum":{checksum}{timestamp}}}]}}'
        )
        await conn.ws.send_str(text)

    @staticmethod
    def _level(price: Decimal, qty: Decimal, pd: int, ld: int) -> str:
        return f'{{"price":{fixed(price, pd)},"qty":{fixed(qty, ld)}}}'

    @staticmethod
    def _iso() -> str:
        return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    @staticmethod
    async def _send(conn: Connection, message: dict[str, Any]) -> None:
        await conn.ws.send_str(orjson.dumps(message).decode())
