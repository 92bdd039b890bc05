"""A fake Bybit (v5): REST spot instruments and the public spot websocket `orderbook` topics.

Protocol as Bybit documents it (v5 "Orderbook" and "Connect") and as ccxt/pro/bybit.py
consumes it:

- `GET /v5/market/instruments-info?category=spot` answers `{"retCode": 0, "retMsg": "OK",
  "result": {"category": "spot", "list": [{"symbol": "BTCUSDT", "baseCoin": "BTC",
  "quoteCoin": "USDT", "status": "Trading", "lotSizeFilter": {...}, "priceFilter":
  {"tickSize": "0.01"}}]}, "retExtInfo": {}, "time": ms}`.
- Websocket `/v5/public/spot`: `{"op": "subscribe", "req_id": "1", "args":
  ["orderbook.50.BTCUSDT"]}` is acknowledged with `{"success": true, "ret_msg": "subscribe",
  "conn_id": "...", "req_id": "1", "op": "subscribe"}` and followed by `{"topic":
  "orderbook.50.BTCUSDT", "type": "snapshot", "ts": ms, "data": {"s": "BTCUSDT", "b":
  [["16493.50", "0.006"]], "a": [...], "u": 18521288, "seq": 7961638724}, "cts": ms}`,
  then `"type": "delta"` messages whose `u` is the previous message's `u` + 1 (per topic);
  a size of "0" removes a level, and a level leaving the subscribed depth is removed
  that way too. `u` = 1 on a snapshot means the service restarted: the client overwrites
  its book. `seq` is the matching engine's cross sequence (increasing, not contiguous).
- Spot depths are 1, 50, 200 and 1000; at most 10 args per subscribe request on spot. An
  unknown topic or symbol, more than 10 args, or a topic already subscribed fails the
  whole request: `{"success": false, "ret_msg": "...", "req_id": "1", "op": "subscribe"}`.
  `op: unsubscribe` is acknowledged the same way.
- `{"op": "ping", "req_id": "7"}` is answered with `{"success": true, "ret_msg": "pong",
  "conn_id": "...", "req_id": "7", "op": "ping"}` (clients ping every 20 s).

There is no checksum on Bybit. A gap is a delta the client never receives: the next
one's `u` skips a number.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, plain
from tests.fakes.server import Connection, FakeExchange, Subscription

SPOT_DEPTHS = (1, 50, 200, 1000)
MAX_ARGS = 10
_TOPIC = re.compile(r"^orderbook\.(\d+)\.([A-Z0-9]+)$")


def market_id(symbol: str) -> str:
    return symbol.replace("-", "")


class FakeBybit(FakeExchange):
    name = "bybit"

    def __init__(self, books: list[TrueBook], **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self._by_id = {market_id(s): s for s in self.books}
        self.update_ids = dict.fromkeys(self.books, 1000)  # `u`, per symbol (one topic each)
        self.cross_seq = 7_961_638_724  # `seq`

    def ccxt_config(self) -> dict[str, Any]:
        return {
            "urls": {
                "api": {
                    "public": self.http_url,
                    "spot": self.http_url,
                    "ws": {"public": {"spot": f"{self.ws_url}/v5/public/spot"}},
                }
            },
            "options": {"fetchMarkets": {"types": ["spot"]}},
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v5/market/instruments-info", self.instruments)
        app.router.add_get("/v5/public/spot", self.websocket)

    # --- REST ----------------------------------------------------------------------

    async def instruments(self, request: web.Request) -> web.Response:
        self.stats["instruments"] += 1
        if request.query.get("category") != "spot":
            return web.json_response({"retCode": 10001, "retMsg": "params error: category", "result": {}})
        listing = []
        for symbol, book in self.books.items():
            base, quote = symbol.split("-")
            listing.append(
                {
                    "symbol": market_id(symbol),
                    "baseCoin": base,
                    "quoteCoin": quote,
                    "innovation": "0",
                    "status": "Trading",
                    "marginTrading": "none",
                    "stTag": "0",
                    "lotSizeFilter": {
                        "basePrecision": plain(book.lot),
                        "quotePrecision": plain(book.tick),
                        "minOrderQty": plain(book.lot),
                        "maxOrderQty": "71.73956243",
                        "minOrderAmt": "1",
                        "maxOrderAmt": "2000000",
                    },
                    "priceFilter": {"tickSize": plain(book.tick)},
                    "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
                }
            )
        result = {"category": "spot", "list": listing}
        return web.json_response(
            {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": self.now_ms()}
        )

    # --- websocket -----------------------------------------------------------------

    async def on_text(self, conn: Connection, text: str) -> None:
        request = orjson.loads(text)
        op, req_id = request.get("op"), request.get("req_id", "")
        reply = {"conn_id": conn.id, "req_id": req_id, "op": op}
        if op == "ping":
            await self._send(conn, {"success": True, "ret_msg": "pong", **reply})
            return
        if op not in ("subscribe", "unsubscribe"):
            await self._send(conn, {"success": False, "ret_msg": f"error:invalid op:{op}", **reply})
            return
        args = request.get("args") or []
        wanted: list[tuple[str, int, str]] = []
        error = None
        if len(args) > MAX_ARGS:
            error = f"args size >{MAX_ARGS}"
        for topic in args:
            match = _TOPIC.match(str(topic))
            symbol = self._by_id.get(match.group(2)) if match else None
            if match is None or int(match.group(1)) not in SPOT_DEPTHS:
                error = error or f"error:handler not found,topic:{topic}"
            elif symbol is None:
                error = error or f"Invalid symbol :[{topic}]"
            elif op == "subscribe" and symbol in conn.subscriptions:
                self.stats["already_subscribed"] += 1
                error = error or f"error:already subscribed,topic:{topic}"
            else:
                wanted.append((str(topic), int(match.group(1)), symbol))
        if error is not None:
            self.stats["refused_requests"] += 1
            await self._send(conn, {"success": False, "ret_msg": error, **reply})
            return
        await self._send(conn, {"success": True, "ret_msg": op if op == "subscribe" else "", **reply})
        for topic, depth, symbol in wanted:
            if op == "unsubscribe":
                conn.subscriptions.pop(symbol, None)
                continue
            self.stats["subscribes"] += 1
            sub = Subscription(symbol, depth, channel=topic)
            conn.subscriptions[symbol] = sub
            await self._send_book(conn, sub, "snapshot")

    def on_publish(self, symbol: str, gap: bool) -> None:
        self.update_ids[symbol] += 1
        self.cross_seq += 1 + self.rng.randrange(5)

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        if gap:
            # The delta is lost on the way: the client never hears of it, the next u skips.
            sub.view = self.view_of(self.books[sub.symbol], sub.depth)
            return
        await self._send_book(conn, sub, "delta")

    async def restart_service(self, symbol: str) -> None:
        """Bybit's service restart: a fresh snapshot with `u` = 1 to every subscriber."""
        self.update_ids[symbol] = 1
        for conn in list(self.connections):
            sub = conn.subscriptions.get(symbol)
            if sub is not None and not conn.ws.closed:
                await self._send_book(conn, sub, "snapshot")

    async def _send_book(self, conn: Connection, sub: Subscription, kind: str) -> None:
        new = self.view_of(self.books[sub.symbol], sub.depth)
        if kind == "snapshot":
            bids, asks = sorted(new[0].items(), reverse=True), sorted(new[1].items())
        else:
            bids, asks = self.diff(sub.view, new)
        sub.view = new
        now = self.now_ms()
        data = {
            "s": market_id(sub.symbol),
            "b": [[plain(p), plain(q)] for p, q in bids],
            "a": [[plain(p), plain(q)] for p, q in asks],
            "u": self.update_ids[sub.symbol],
            "seq": self.cross_seq,
        }
        await self._send(conn, {"topic": sub.channel, "type": kind, "ts": now, "data": data, "cts": now - 3})

    @staticmethod
    async def _send(conn: Connection, message: dict[str, Any]) -> None:
        await conn.ws.send_str(orjson.dumps(message).decode())
