"""A fake MEXC spot (API v3): REST `exchangeInfo` and `depth`, the contract list ccxt loads
alongside, and the protobuf websocket stream `spot@public.aggre.depth.v3.api.pb`.

Protocol as MEXC documents it ("Websocket Market Streams", "Diff.Depth Stream", "How to
Properly Maintain a Local Copy of the Order Book", websocket-proto) and as
ccxt/pro/mexc.py 4.5.90 consumes it:

- `GET /api/v3/exchangeInfo` lists `{"symbol": "BTCUSDT", "status": "1", "baseAsset":
  "BTC", "quoteAsset": "USDT", "isSpotTradingAllowed": true, ...}`; `GET
  /api/v1/contract/detail` the swaps (none here: ccxt always loads both); `GET
  /api/v3/depth?symbol=BTCUSDT&limit=N` answers `{"lastUpdateId": 744267132, "bids":
  [["93180.18", "0.21976424"]], "asks": [...], "timestamp": ms}`.
- Websocket `/ws`: `{"method": "SUBSCRIPTION", "params":
  ["spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"]}` (100ms or 10ms) is acknowledged in
  JSON text, `{"id": 0, "code": 0, "msg": "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"}`;
  a refused one with `"msg": "Not Subscribed successfully! [...]. Reason: Blocked! "`
  (the colon a full-width one); at
  most 30 subscriptions per connection. `{"method": "PING"}` gets `{"id": 0, "code": 0,
  "msg": "PONG"}` (ccxt sends `"ping"` every 8 s and drops the connection after 16 s
  without a PONG). Every push is a binary protobuf `PushDataV3ApiWrapper` (channel = 1,
  symbol = 3, sendTime = 6, publicAggreDepths = 313), whose `PublicAggreDepthsV3Api`
  carries asks = 1 and bids = 2 (`{price = 1, quantity = 2}`, decimal strings, "0"
  removes), eventType = 3, fromVersion = 4 and toVersion = 5 (decimal strings): a push is
  continuous when its fromVersion is the previous toVersion + 1.

There is no checksum (`corrupt_checksum` has nothing to corrupt). The diff stream covers
the whole book, the snapshot its top `limit` levels. A gap is a push the client never
receives; a failed snapshot is an HTTP error from `depth`.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, plain
from tests.fakes.server import Connection, FakeExchange, Subscription

FULL_DEPTH = 10_000
MAX_SUBSCRIPTIONS = 30
CHANNEL = "spot@public.aggre.depth.v3.api.pb"


def refused(stream: str, reason: str) -> str:
    """MEXC's answer to a subscription it refuses (its colon is a full-width one)."""
    return f"Not Subscribed successfully! [{stream}]. Reason\uff1a {reason}! "


def market_id(symbol: str) -> str:
    return symbol.replace("-", "")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string_field(number: int, text: str) -> bytes:
    return _bytes_field(number, text.encode())


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def depth_push(
    channel: str,
    symbol_id: str,
    send_time: int,
    asks: list[tuple[str, str]],
    bids: list[tuple[str, str]],
    from_version: int,
    to_version: int,
) -> bytes:
    """A `PushDataV3ApiWrapper` carrying `PublicAggreDepthsV3Api`, protobuf-encoded."""
    body = b"".join(_bytes_field(1, _string_field(1, p) + _string_field(2, q)) for p, q in asks)
    body += b"".join(_bytes_field(2, _string_field(1, p) + _string_field(2, q)) for p, q in bids)
    body += _string_field(3, channel.rsplit("@", 1)[0])
    body += _string_field(4, str(from_version)) + _string_field(5, str(to_version))
    wrapper = _string_field(1, channel) + _string_field(3, symbol_id) + _int_field(6, send_time)
    return wrapper + _bytes_field(313, body)


class FakeMexc(FakeExchange):
    name = "mexc"

    def __init__(self, books: list[TrueBook], **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self.versions = {symbol: 40_000_000 + 100_000 * i for i, symbol in enumerate(self.books)}
        self._event_ids: dict[str, tuple[int, int]] = {}
        self._by_id = {market_id(s): s for s in self.books}

    def ccxt_config(self) -> dict[str, Any]:
        return {
            "urls": {
                "api": {
                    "spot": {"public": self.http_url},
                    "contract": {"public": f"{self.http_url}/api/v1/contract"},
                    "ws": {"spot": f"{self.ws_url}/ws"},
                }
            }
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v3/exchangeInfo", self.exchange_info)
        app.router.add_get("/api/v3/depth", self.depth)
        app.router.add_get("/api/v1/contract/detail", self.contracts)
        app.router.add_get("/ws", self.websocket)

    # --- REST ----------------------------------------------------------------------

    async def exchange_info(self, request: web.Request) -> web.Response:
        self.stats["exchange_info"] += 1
        symbols = []
        for symbol, book in self.books.items():
            base, quote = symbol.split("-")
            symbols.append(
                {
                    "symbol": market_id(symbol),
                    "status": "1",
                    "baseAsset": base,
                    "baseAssetPrecision": max(0, -book.lot.normalize().as_tuple().exponent),  # type: ignore[operator]
                    "quoteAsset": quote,
                    "quotePrecision": max(0, -book.tick.normalize().as_tuple().exponent),  # type: ignore[operator]
                    "quoteAssetPrecision": max(0, -book.tick.normalize().as_tuple().exponent),  # type: ignore[operator]
                    "baseCommissionPrecision": 8,
                    "quoteCommissionPrecision": 8,
                    "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"],
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "quoteAmountPrecision": "1",
                    "baseSizePrecision": plain(book.lot),
                    "permissions": ["SPOT"],
                    "filters": [],
                    "maxQuoteAmount": "2000000",
                    "makerCommission": "0",
                    "takerCommission": "0.0005",
                    "fullName": base,
                    "tradeSideType": "1",
                }
            )
        body = {"timezone": "CST", "serverTime": self.now_ms(), "rateLimits": [], "exchangeFilters": []}
        return web.json_response({**body, "symbols": symbols})

    async def contracts(self, request: web.Request) -> web.Response:
        return web.json_response({"success": True, "code": 0, "data": []})

    async def depth(self, request: web.Request) -> web.Response:
        refused = self.snapshot_gate()
        if refused is not None:
            return refused
        symbol = self._by_id.get(request.query.get("symbol", ""))
        if symbol is None:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        bids, asks = self.books[symbol].top(int(request.query.get("limit", "100")))
        return web.json_response(
            {
                "lastUpdateId": self.versions[symbol],
                "bids": [[plain(p), plain(q)] for p, q in bids],
                "asks": [[plain(p), plain(q)] for p, q in asks],
                "timestamp": self.now_ms(),
            }
        )

    # --- websocket -----------------------------------------------------------------

    async def on_text(self, conn: Connection, text: str) -> None:
        request = orjson.loads(text)
        method = request.get("method")
        if str(method).upper() == "PING":  # documented upper case; ccxt sends "ping"
            self.stats["pings"] += 1
            await self._reply(conn, "PONG")
            return
        if method not in ("SUBSCRIPTION", "UNSUBSCRIPTION"):
            await self._reply(conn, refused(str(method), "Invalid method"))
            return
        for stream in request.get("params") or []:
            parts = str(stream).split("@")
            symbol = self._by_id.get(parts[3]) if len(parts) == 4 else None
            valid = symbol is not None and parts[0] == "spot" and parts[2] in ("100ms", "10ms")
            if not valid or f"{parts[0]}@{parts[1]}" != CHANNEL:
                self.stats["errors"] += 1
                await self._reply(conn, refused(str(stream), "Blocked"))
                continue
            assert symbol is not None
            if method == "UNSUBSCRIPTION":
                conn.subscriptions.pop(symbol, None)
            elif symbol not in conn.subscriptions:
                if len(conn.subscriptions) >= MAX_SUBSCRIPTIONS:
                    self.stats["errors"] += 1
                    await self._reply(conn, refused(str(stream), "Max 30 subscriptions"))
                    continue
                self.stats["subscribes"] += 1
                sub = Subscription(symbol, FULL_DEPTH, channel=str(stream))
                sub.view = self.view_of(self.books[symbol], FULL_DEPTH)
                conn.subscriptions[symbol] = sub
            await self._reply(conn, str(stream))

    def on_publish(self, symbol: str, gap: bool) -> None:
        first = self.versions[symbol] + 1
        last = first + self.changes_per_tick - 1
        self.versions[symbol] = last
        self._event_ids[symbol] = (first, last)

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        new = self.view_of(self.books[sub.symbol], FULL_DEPTH)
        bids, asks = self.diff(sub.view, new)
        sub.view = new
        if gap:
            return  # a push this client never gets: the next one's fromVersion does not follow
        first, last = self._event_ids[sub.symbol]
        push = depth_push(
            sub.channel,
            market_id(sub.symbol),
            self.now_ms(),
            [(plain(p), plain(q)) for p, q in asks],
            [(plain(p), plain(q)) for p, q in bids],
            first,
            last,
        )
        await conn.ws.send_bytes(push)

    @staticmethod
    async def _reply(conn: Connection, msg: str) -> None:
        await conn.ws.send_str(orjson.dumps({"id": 0, "code": 0, "msg": msg}).decode())
