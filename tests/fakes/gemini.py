"""A fake Gemini: REST `symbols` (and the exchange web page ccxt reads currencies from), and
the websocket v1 multi-market data stream.

Protocol as Gemini documents it ("Market Data" v1, "Multi Market Data", "Sequence
Numbers") and as ccxt/pro/gemini.py consumes it (`watch_order_book_for_symbols`):

- `GET /v1/symbols` answers `["btcusd", "ethusd"]`. ccxt also fetches the exchange web page
  and reads `{"tradingPairs": [["BTCUSD", 2, 8, "0.00001", 10, true]], "currencies": [...]}`
  out of its `<script id="currencyData">` (price and amount decimals per pair).
- Websocket `/v1/multimarketdata?symbols=BTCUSD,ETHUSD&heartbeat=true&trades=false&
  bids=true&offers=true`: the subscription is the URL, there are no client messages. An
  unknown symbol fails the handshake (HTTP 400). First, per symbol, `{"type": "update",
  "eventId": 5375461993, "socket_sequence": 0, "events": [{"type": "change", "reason":
  "initial", "side": "bid", "price": "3641.61", "delta": "0.83372051", "remaining":
  "0.83372051", "symbol": "BTCUSD"}, ...]}` with the whole book; then `{"type": "update",
  "eventId": ..., "timestamp": 1547759967, "timestampms": 1547759967559,
  "socket_sequence": 1, "events": [{"type": "change", "side": "ask", "price": "3628.01",
  "remaining": "0", "delta": "-2", "reason": "cancel", "symbol": "BTCUSD"}]}`. With
  `heartbeat=true`, `{"type": "heartbeat", "socket_sequence": 7}` every 5 seconds.
- `socket_sequence` counts every message of the connection from 0, heartbeats included:
  a number skipped is a message lost. `eventId` only increases (it skips numbers), so it
  cannot reveal a loss. There is no checksum. Keepalive is the websocket's ping/pong.

A gap (`inject_gap`) is a message the connection never gets: its socket_sequence is used
up. `corrupt_checksum` and `fail_snapshots` have nothing to act on (no checksum, no REST
snapshot).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, plain
from tests.fakes.server import Connection, FakeExchange, Subscription

FULL_DEPTH = 10_000
SIDES = {"bids": "bid", "asks": "ask"}


def decimals(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]


def market_id(symbol: str) -> str:
    return symbol.replace("-", "")


class FakeGemini(FakeExchange):
    name = "gemini"

    def __init__(self, books: list[TrueBook], *, heartbeat_sec: float = 5.0, **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self.heartbeat_sec = heartbeat_sec
        self._by_id = {market_id(s): s for s in self.books}
        self.sequence: dict[str, int] = {}  # next socket_sequence, by connection id
        self.heartbeats: set[str] = set()
        self.event_id = 5_375_461_993
        self._queries: dict[Any, tuple[list[str], bool]] = {}  # (symbols, heartbeat) asked for, by transport
        self._unsent_heartbeat = 0.0

    def ccxt_config(self) -> dict[str, Any]:
        return {
            "urls": {
                "api": {
                    "public": self.http_url,
                    "webExchange": f"{self.http_url}/exchange",
                    "ws": self.ws_url,
                }
            }
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/symbols", self.symbols)
        app.router.add_get("/exchange/", self.web_page)
        app.router.add_get("/v1/multimarketdata", self.multimarketdata)

    # --- REST ----------------------------------------------------------------------

    async def symbols(self, request: web.Request) -> web.Response:
        self.stats["symbols"] += 1
        return web.json_response([market_id(s).lower() for s in self.books])

    async def web_page(self, request: web.Request) -> web.Response:
        pairs = [
            [market_id(s), decimals(b.tick), decimals(b.lot), plain(b.lot), 10, True] for s, b in self.books.items()
        ]
        codes = sorted({part for s in self.books for part in s.split("-")})
        currencies = [
            [c, c, i, 2, 2, 8, 8, c in ("USD", "EUR", "GBP") or None, None, None] for i, c in enumerate(codes)
        ]
        data = orjson.dumps({"tradingPairs": pairs, "currencies": currencies, "networks": []}).decode()
        page = f'<html><body><script type="application/json" id="currencyData">{data}</script></body></html>'
        return web.Response(text=page, content_type="text/html")

    # --- websocket -----------------------------------------------------------------

    async def multimarketdata(self, request: web.Request) -> web.StreamResponse:
        wanted = [s.strip().upper() for s in request.query.get("symbols", "").split(",") if s.strip()]
        unknown = [s for s in wanted if s not in self._by_id]
        if not wanted or unknown:
            self.stats["bad_symbols"] += 1
            reason = {"result": "error", "reason": "InvalidSymbol", "message": f"Invalid symbol {unknown or wanted}"}
            return web.json_response(reason, status=400)
        self._queries[request.transport] = (wanted, request.query.get("heartbeat") == "true")
        return await self.websocket(request)

    async def on_connect(self, conn: Connection) -> None:
        wanted, heartbeat = self._queries.pop(conn.transport, ([], False))
        if heartbeat:
            self.heartbeats.add(conn.id)
        for product in wanted:
            symbol = self._by_id[product]
            self.stats["subscribes"] += 1
            sub = Subscription(symbol, FULL_DEPTH, channel=product)
            conn.subscriptions[symbol] = sub
            await self._send_book(conn, sub, initial=True)

    async def on_text(self, conn: Connection, text: str) -> None:
        self.stats["ignored_client_frames"] += 1  # the v1 stream takes no requests

    async def tick_idle(self) -> None:
        self._unsent_heartbeat += self.interval
        if self._unsent_heartbeat < self.heartbeat_sec:
            return
        self._unsent_heartbeat = 0.0
        for conn in list(self.connections):
            if conn.id in self.heartbeats and not conn.ws.closed:
                self.stats["heartbeats"] += 1
                await self._send(conn, {"type": "heartbeat"})

    def on_publish(self, symbol: str, gap: bool) -> None:
        self.event_id += self.rng.randint(1, 40)  # ids of other events happen in between

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        if gap:
            # The message is lost on the way: the book moved, the number is used up.
            sub.view = self.view_of(self.books[sub.symbol], sub.depth)
            self.sequence[conn.id] = self.sequence.get(conn.id, 0) + 1
            return
        await self._send_book(conn, sub, initial=False)

    async def _send_book(self, conn: Connection, sub: Subscription, initial: bool) -> None:
        new = self.view_of(self.books[sub.symbol], sub.depth)
        old = sub.view
        if initial:
            bids, asks = sorted(new[0].items(), reverse=True), sorted(new[1].items())
            old = ({}, {})
        else:
            bids, asks = self.diff(sub.view, new)
        sub.view = new
        events = []
        for side, levels, before in (("bids", bids, old[0]), ("asks", asks, old[1])):
            for price, size in levels:
                delta = size - before.get(price, Decimal(0))
                reason = "initial" if initial else ("cancel" if delta < 0 else "place")
                events.append(
                    {
                        "type": "change",
                        "side": SIDES[side],
                        "price": plain(price),
                        "remaining": plain(size),
                        "delta": plain(delta),
                        "reason": reason,
                        "symbol": sub.channel,
                    }
                )
        message: dict[str, Any] = {"type": "update", "eventId": self.event_id}
        if not initial:
            now = self.now_ms()
            message.update(timestamp=now // 1000, timestampms=now)
        await self._send(conn, {**message, "events": events})

    async def _send(self, conn: Connection, message: dict[str, Any]) -> None:
        number = self.sequence.get(conn.id, 0)
        self.sequence[conn.id] = number + 1
        await conn.ws.send_str(orjson.dumps({**message, "socket_sequence": number}).decode())
