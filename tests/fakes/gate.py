"""A fake Gate (API v4): REST spot currency pairs, and the spot websocket `spot.obu` channel.

Protocol as Gate documents it ("Gate Spot Depth Channel Upgrade", the order book V2
channel `spot.obu`) and as ccxt/pro/gate.py 4.5.90 consumes it for non-EU spot:

- `GET /api/v4/spot/currency_pairs` lists `{"id": "BTC_USDT", "base": "BTC", "quote":
  "USDT", "precision": 1, "amount_precision": 8, "trade_status": "tradable", ...}`;
  `GET /api/v4/margin/currency_pairs` the margin pairs (none here); `GET
  /api/v4/spot/currencies` the currencies (ccxt loads them with the markets).
- Websocket `/ws/v4/`: `{"time": s, "id": 1, "channel": "spot.obu", "event": "subscribe",
  "payload": ["ob.BTC_USDT.50"]}` (levels: 50, pushed every 20 ms, or 400, every 100 ms)
  is acknowledged with `{"time": s, "time_ms": ms, "id": 1, "conn_id": "...", "channel":
  "spot.obu", "event": "subscribe", "payload": [...], "result": {"status": "success"}}`.
  The first push is always a full book: `{"channel": "spot.obu", "result": {"t": ms,
  "full": true, "s": "ob.BTC_USDT.50", "u": 28606981, "b": [["105958.9", "0.00908"]],
  "a": [...]}, "time_ms": ms, "event": "update"}`; then increments without `full` and
  with `"U"` (first depth id) and `"u"` (last): continuous when U is the previous u + 1,
  else the client must unsubscribe and subscribe again for a new full book. A size "0"
  removes the level; levels coming into the top N are sent as they enter it.
- One subscription per stream and connection: a second one is an error, `{"error":
  {"code": 2, "message": "Alert sub ob.BTC_USDT.50"}, "result": {"status": "fail"}}`; an
  unknown pair is `{"code": 2, "message": "unknown currency pair: X_Y"}`; a server-side
  failure is code 3. `unsubscribe` ends a subscription.
- `{"time": s, "channel": "spot.ping"}` is answered with `{"channel": "spot.pong", ...}`;
  websocket ping frames with pong frames (what ccxt sends, every 30 s by default).

There is no checksum on this channel (`corrupt_checksum` has nothing to corrupt): a lost
increment shows only as U not following u. A gap here is exactly that: an increment the
client never receives. `resend_full(symbol)` sends a full book unasked, as Gate may.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, plain
from tests.fakes.server import Connection, FakeExchange, Subscription

LEVELS = (50, 400)


def market_id(symbol: str) -> str:
    return symbol.replace("-", "_")


def decimals(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]


class FakeGate(FakeExchange):
    name = "gate"

    def __init__(self, books: list[TrueBook], **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self.depth_ids = {symbol: 20_000 for symbol in self.books}
        self._event_ids: dict[str, tuple[int, int]] = {}
        self._by_id = {market_id(s): s for s in self.books}

    def ccxt_config(self) -> dict[str, Any]:
        rest = f"{self.http_url}/api/v4"
        return {
            "urls": {"api": {"public": {"spot": rest, "margin": rest}, "spot": f"{self.ws_url}/ws/v4/"}},
            "options": {"fetchMarkets": {"types": ["spot"]}},
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v4/spot/currency_pairs", self.currency_pairs)
        app.router.add_get("/api/v4/margin/currency_pairs", self.margin_pairs)
        app.router.add_get("/api/v4/spot/currencies", self.currencies)
        app.router.add_get("/ws/v4/", self.websocket)

    # --- REST ----------------------------------------------------------------------

    async def currency_pairs(self, request: web.Request) -> web.Response:
        self.stats["currency_pairs"] += 1
        pairs = []
        for symbol, book in self.books.items():
            base, quote = symbol.split("-")
            pairs.append(
                {
                    "id": market_id(symbol),
                    "base": base,
                    "base_name": base,
                    "quote": quote,
                    "quote_name": quote,
                    "fee": "0.2",
                    "min_base_amount": plain(book.lot),
                    "min_quote_amount": "3",
                    "max_quote_amount": "5000000",
                    "amount_precision": decimals(book.lot),
                    "precision": decimals(book.tick),
                    "trade_status": "tradable",
                    "sell_start": 1516378650,
                    "buy_start": 1516378650,
                    "delisting_time": 0,
                    "type": "normal",
                    "trade_url": f"https://www.gate.com/trade/{market_id(symbol)}",
                }
            )
        return web.json_response(pairs)

    async def margin_pairs(self, request: web.Request) -> web.Response:
        return web.json_response([])

    async def currencies(self, request: web.Request) -> web.Response:
        codes = sorted({part for symbol in self.books for part in symbol.split("-")})
        flags = {"withdraw_disabled": False, "withdraw_delayed": False, "deposit_disabled": False}
        return web.json_response(
            [
                {
                    "currency": code,
                    "name": code,
                    "delisted": False,
                    **flags,
                    "trade_disabled": False,
                    "fixed_rate": "",
                    "chain": "ETH",
                    "chains": [{"name": "ETH", "addr": "", **flags}],
                }
                for code in codes
            ]
        )

    # --- websocket -----------------------------------------------------------------

    async def on_text(self, conn: Connection, text: str) -> None:
        request = orjson.loads(text)
        channel, event, request_id = request.get("channel"), request.get("event"), request.get("id")
        if channel == "spot.ping":
            await self._send(
                conn, {**self._times(), "id": request_id, "channel": "spot.pong", "event": "", "result": None}
            )
            return
        payload = request.get("payload") or []
        reply: dict[str, Any] = {
            **self._times(),
            "id": request_id,
            "conn_id": conn.id,
            "trace_id": f"{self.rng.getrandbits(64):016x}",
            "channel": channel,
            "event": event,
            "payload": payload,
        }
        if channel != "spot.obu" or event not in ("subscribe", "unsubscribe"):
            await self._error(conn, reply, 1, f"unknown channel or event: {channel} {event}")
            return
        streams: list[tuple[str, int, str]] = []
        for stream in payload:
            parts = str(stream).split(".")
            symbol = self._by_id.get(parts[1]) if len(parts) == 3 and parts[0] == "ob" else None
            if symbol is None:
                pair = parts[1] if len(parts) > 1 else stream
                await self._error(conn, reply, 2, f"unknown currency pair: {pair}")
                return
            if parts[2] not in {str(level) for level in LEVELS}:
                await self._error(conn, reply, 2, f"invalid level: {stream}")
                return
            streams.append((symbol, int(parts[2]), str(stream)))
        if event == "unsubscribe":
            for symbol, _, _ in streams:
                conn.subscriptions.pop(symbol, None)
            await self._send(conn, {**reply, "result": {"status": "success"}})
            return
        for symbol, _, stream in streams:
            if symbol in conn.subscriptions:
                self.stats["already_subscribed"] += 1
                await self._error(conn, reply, 2, f"Alert sub {stream}")
                return
        if self._snapshot_failures:  # the subscription (and so its full book) fails
            self._snapshot_failures.popleft()
            self.stats["snapshot_failed"] += 1
            await self._error(conn, reply, 3, "Server side error")
            return
        await self._send(conn, {**reply, "result": {"status": "success"}})
        for symbol, level, stream in streams:
            self.stats["subscribes"] += 1
            sub = Subscription(symbol, level, channel=stream)
            conn.subscriptions[symbol] = sub
            await self._send_full(conn, sub)

    async def resend_full(self, symbol: str) -> None:
        """A full book to every subscriber of `symbol`, unasked ("the server may resend")."""
        for conn in list(self.connections):
            sub = conn.subscriptions.get(symbol)
            if sub is not None and not conn.ws.closed:
                await self._send_full(conn, sub)

    def on_publish(self, symbol: str, gap: bool) -> None:
        first = self.depth_ids[symbol] + 1
        last = first + self.changes_per_tick - 1
        self.depth_ids[symbol] = last
        self._event_ids[symbol] = (first, last)

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        new = self.view_of(self.books[sub.symbol], sub.depth)
        bids, asks = self.diff(sub.view, new)
        sub.view = new
        if gap:
            return  # an increment this client never gets: the next one's U does not follow
        first, last = self._event_ids[sub.symbol]
        sub.seq = last
        result = {
            "t": self.now_ms(),
            "s": sub.channel,
            "U": first,
            "u": last,
            "b": [[plain(p), plain(q)] for p, q in bids],
            "a": [[plain(p), plain(q)] for p, q in asks],
        }
        await self._send(conn, {"channel": "spot.obu", "result": result, "time_ms": self.now_ms(), "event": "update"})

    async def _send_full(self, conn: Connection, sub: Subscription) -> None:
        sub.view = self.view_of(self.books[sub.symbol], sub.depth)
        sub.seq = self.depth_ids[sub.symbol]
        result = {
            "t": self.now_ms(),
            "full": True,
            "s": sub.channel,
            "u": sub.seq,
            "b": [[plain(p), plain(q)] for p, q in sorted(sub.view[0].items(), reverse=True)],
            "a": [[plain(p), plain(q)] for p, q in sorted(sub.view[1].items())],
        }
        await self._send(conn, {"channel": "spot.obu", "result": result, "time_ms": self.now_ms(), "event": "update"})

    async def _error(self, conn: Connection, reply: dict[str, Any], code: int, message: str) -> None:
        self.stats["errors"] += 1
        await self._send(conn, {**reply, "error": {"code": code, "message": message}, "result": {"status": "fail"}})

    @staticmethod
    def _times() -> dict[str, int]:
        now = time.time()
        return {"time": int(now), "time_ms": int(now * 1000)}

    @staticmethod
    async def _send(conn: Connection, message: dict[str, Any]) -> None:
        await conn.ws.send_str(orjson.dumps(message).decode())
