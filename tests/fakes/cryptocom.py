"""A fake Crypto.com Exchange: REST `public/get-instruments` and the market websocket's
`book.{instrument_name}.{depth}` channel in delta mode.

Protocol as Crypto.com documents it (Exchange API v1, "book.{instrument_name}.{depth}",
"Websocket heartbeats", "Rate limits") and as ccxt/pro/cryptocom.py consumes it:

- `GET /exchange/v1/public/get-instruments` answers `{"id": 1, "method":
  "public/get-instruments", "code": 0, "result": {"data": [{"symbol": "BTC_USDT",
  "inst_type": "CCY_PAIR", "base_ccy": "BTC", "quote_ccy": "USDT", "price_tick_size":
  "0.01", "qty_tick_size": "0.00001", "tradable": true, ...}]}}`.
- Websocket `/exchange/v1/market`: `{"id": 1, "method": "subscribe", "params": {"channels":
  ["book.BTC_USDT.50"], "bookSubscriptionType": "SNAPSHOT_AND_UPDATE",
  "bookUpdateFrequency": 10}, "nonce": 1}` is answered per channel with `{"id": 1, "method":
  "subscribe", "code": 0, "result": {"instrument_name": "BTC_USDT", "subscription":
  "book.BTC_USDT.50", "channel": "book", "depth": 50, "data": [{"asks": [["30082.5",
  "0.1689", "1"]], "bids": [...], "t": ms, "tt": ms, "u": 1234}]}}` (the snapshot), then
  `{"id": -1, ..., "channel": "book.update", "data": [{"update": {"asks": [...], "bids":
  [...]}, "t": ms, "tt": ms, "u": 1240, "pu": 1234, "cs": -781431132}]}`: each delta's `pu`
  is the previous message's `u`. A level is [price, quantity, order count] as strings; a
  quantity of 0 removes it. The book holds the top `depth` levels (10 or 50): a level
  leaving that range is removed, one entering it added. Subscribing to a channel already
  subscribed succeeds and sends a fresh snapshot (how a client resyncs after a gap).
  A book with no change for 5 s gets an empty delta (a heartbeat of the channel).
- `cs` is a checksum whose algorithm Crypto.com does not publish: no client can verify it.
  The fake sends a CRC32 of the top levels (OKX's layout) as a stand-in.
- Every 30 s the server sends `{"id": 1587523073344, "method": "public/heartbeat", "code":
  0}`; a connection that does not answer `{"id": <same>, "method":
  "public/respond-heartbeat"}` within 5 s is closed.
- At most 100 requests a second on a connection, pro-rated in the calendar second it was
  opened in (Crypto.com advises waiting a second after connecting); beyond that `{"id": ..,
  "code": 42901, "message": "TOO_MANY_REQUESTS"}`. At most 400 channels a connection
  (`40003 EXCEED_MAX_SUBSCRIPTIONS`). An unknown channel or instrument gets code 10004
  ("invalid channel ..."). Replies carry the request's `id` (0 when it had none).

Faults: a gap is a delta whose `pu` is not the previous `u`; a snapshot failure is a
subscription answered with an error (the snapshot comes from the socket); a wrong `cs` can
be sent but nobody can tell.
"""

from __future__ import annotations

import time
import zlib
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, plain
from tests.fakes.server import Connection, FakeExchange, Subscription

VALID_DEPTHS = (10, 50)
CHANNEL_LIMIT = 400
REQUESTS_PER_SECOND = 100
BOOK_HEARTBEAT_SEC = 5.0
CHECKSUM_LEVELS = 25


def instrument_name(symbol: str) -> str:
    return symbol.replace("-", "_")


def stand_in_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    """A CRC32 (signed) of `bid_px:bid_qty:ask_px:ask_qty:...` over the top 25 levels."""
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        for side in (bids, asks):
            if i < len(side):
                parts.extend(side[i])
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


class FakeCryptocom(FakeExchange):
    name = "cryptocom"

    def __init__(
        self,
        books: list[TrueBook],
        *,
        heartbeat_sec: float = 30.0,
        heartbeat_timeout_sec: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(books, **kwargs)
        self.heartbeat_sec = heartbeat_sec
        self.heartbeat_timeout_sec = heartbeat_timeout_sec
        self._by_id = {instrument_name(s): s for s in self.books}
        self.update_ids = {symbol: 5_000_000 for symbol in self.books}
        self._last_ids: dict[str, tuple[int, int]] = {}  # symbol -> (pu, u) of the last change
        self._failed_subscribes = 0
        self._opened: dict[str, float] = {}  # connection id -> wall clock it was opened
        self._requests: dict[str, tuple[int, int]] = {}  # connection id -> (second, requests in it)
        self._heartbeats: dict[str, tuple[int, float] | None] = {}  # unanswered (id, sent at)
        self._since_heartbeat: dict[str, float] = {}
        self._quiet: dict[tuple[str, str], float] = {}  # (connection, symbol) -> seconds unchanged

    def ccxt_config(self) -> dict[str, Any]:
        return {
            "urls": {
                "api": {"v1": f"{self.http_url}/exchange/v1", "ws": {"public": f"{self.ws_url}/exchange/v1/market"}}
            }
        }

    def fail_snapshots(self, count: int, status: int = 429) -> None:
        """The snapshot comes with the subscription: the next `count` subscriptions fail."""
        self._failed_subscribes += count

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/exchange/v1/public/get-instruments", self.instruments)
        app.router.add_get("/exchange/v1/market", self.websocket)

    # --- REST ----------------------------------------------------------------------

    async def instruments(self, request: web.Request) -> web.Response:
        self.stats["instruments"] += 1
        data = []
        for symbol, book in self.books.items():
            base, quote = symbol.split("-")
            data.append(
                {
                    "symbol": instrument_name(symbol),
                    "inst_type": "CCY_PAIR",
                    "display_name": f"{base}/{quote}",
                    "base_ccy": base,
                    "quote_ccy": quote,
                    "quote_decimals": _decimals(book.tick),
                    "quantity_decimals": _decimals(book.lot),
                    "price_tick_size": plain(book.tick),
                    "qty_tick_size": plain(book.lot),
                    "max_leverage": "50",
                    "tradable": True,
                    "expiry_timestamp_ms": 0,
                    "beta_product": False,
                    "margin_buy_enabled": False,
                    "margin_sell_enabled": False,
                }
            )
        return web.json_response({"id": 1, "method": "public/get-instruments", "code": 0, "result": {"data": data}})

    # --- websocket -----------------------------------------------------------------

    async def on_connect(self, conn: Connection) -> None:
        self._opened[conn.id] = time.time()
        self._heartbeats[conn.id] = None
        self._since_heartbeat[conn.id] = 0.0

    async def on_text(self, conn: Connection, text: str) -> None:
        request = orjson.loads(text)
        method, request_id = request.get("method"), request.get("id", 0)
        if method == "public/respond-heartbeat":
            pending = self._heartbeats.get(conn.id)
            if pending is not None and pending[0] == request_id:
                self._heartbeats[conn.id] = None
                self.stats["heartbeats_answered"] += 1
            return
        if not self._within_rate_limit(conn):
            self.stats["rate_limited"] += 1
            await self._error(conn, request_id, method, 42901, "TOO_MANY_REQUESTS")
            return
        params = request.get("params") or {}
        if method == "unsubscribe":
            for channel in params.get("channels", []):
                parsed = self._parse_channel(channel)
                if parsed is not None:
                    conn.subscriptions.pop(parsed[0], None)
            await self._send(conn, {"id": request_id, "method": "unsubscribe", "code": 0})
            return
        if method != "subscribe":
            await self._error(conn, request_id, method, 10004, f"invalid method {method}")
            return
        await self._subscribe(conn, request_id, list(params.get("channels", [])), params)

    async def _subscribe(self, conn: Connection, request_id: Any, channels: list[str], params: dict[str, Any]) -> None:
        """A request is refused as a whole (one error reply) or served channel by channel."""
        parsed = [self._parse_channel(channel) for channel in channels]
        kind = params.get("bookSubscriptionType", "SNAPSHOT")
        if not channels or None in parsed or kind != "SNAPSHOT_AND_UPDATE":
            # Only the delta mode is served; the 500 ms snapshot mode is not faked.
            names = ",".join(f'"{c}"' for c in channels)
            await self._error(conn, request_id, "subscribe", 10004, f'invalid channel {{"channels":[{names}]}}')
            return
        wanted = {symbol for symbol, _ in parsed if symbol is not None}  # type: ignore[misc]
        if len(set(conn.subscriptions) | wanted) > CHANNEL_LIMIT:
            self.stats["channel_limit"] += 1
            await self._error(conn, request_id, "subscribe", 40003, "EXCEED_MAX_SUBSCRIPTIONS")
            return
        if self._failed_subscribes > 0:
            self._failed_subscribes -= 1
            self.stats["snapshot_failed"] += 1
            await self._error(conn, request_id, "subscribe", 50001, "SYS_ERROR")
            return
        for channel, (symbol, depth) in zip(channels, parsed, strict=True):  # type: ignore[misc]
            self.stats["resubscribes" if symbol in conn.subscriptions else "subscribes"] += 1
            sub = Subscription(symbol, depth, channel=channel)
            sub.view = self.view_of(self.books[symbol], depth)
            sub.seq = self.update_ids[symbol]
            conn.subscriptions[symbol] = sub
            self._quiet[(conn.id, symbol)] = 0.0
            bids, asks = sorted(sub.view[0].items(), reverse=True), sorted(sub.view[1].items())
            now = self.now_ms()
            data = {"asks": _levels(asks), "bids": _levels(bids), "t": now, "tt": now, "u": sub.seq}
            data["cs"] = self._checksum(sub, bad=False)
            await self._book_message(conn, request_id, sub, "book", data)

    def _parse_channel(self, channel: str) -> tuple[str, int] | None:
        parts = channel.split(".")
        if len(parts) != 3 or parts[0] != "book" or parts[1] not in self._by_id or not parts[2].isdigit():
            return None
        depth = int(parts[2])
        return (self._by_id[parts[1]], depth) if depth in VALID_DEPTHS else None

    def _within_rate_limit(self, conn: Connection) -> bool:
        now = time.time()
        second = int(now)
        opened = self._opened.get(conn.id, now)
        limit = REQUESTS_PER_SECOND
        if second == int(opened):  # pro-rated in the second the connection was opened in
            limit = max(1, int(REQUESTS_PER_SECOND * (1 - (opened - second))))
        start, count = self._requests.get(conn.id, (second, 0))
        count = count + 1 if start == second else 1
        self._requests[conn.id] = (second, count)
        return count <= limit

    def on_publish(self, symbol: str, gap: bool) -> None:
        previous = self.update_ids[symbol]
        if gap:
            previous += 7  # deltas the client never got
        self.update_ids[symbol] = previous + 1 + self.changes_per_tick
        self._last_ids[symbol] = (previous, self.update_ids[symbol])

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        new = self.view_of(self.books[sub.symbol], sub.depth)
        bids, asks = self.diff(sub.view, new)
        sub.view = new
        pu, u = self._last_ids[sub.symbol]
        if not gap:
            pu = sub.seq  # what this connection last heard, normally the previous change's u
        sub.seq = u
        self._quiet[(conn.id, sub.symbol)] = 0.0
        now = self.now_ms()
        update = {"asks": _levels(sorted(asks)), "bids": _levels(sorted(bids, reverse=True))}
        data = {"update": update, "t": now, "tt": now, "u": u, "pu": pu, "cs": self._checksum(sub, bad_checksum)}
        await self._book_message(conn, -1, sub, "book.update", data)

    async def tick_idle(self) -> None:
        for conn in list(self.connections):
            if conn.ws.closed:
                continue
            await self._heartbeat(conn)
            for symbol, sub in list(conn.subscriptions.items()):
                key = (conn.id, symbol)
                self._quiet[key] = self._quiet.get(key, 0.0) + self.interval
                if self._quiet[key] >= BOOK_HEARTBEAT_SEC and not self.paused:
                    # an empty delta: the channel is alive, the sequence moves on
                    self._quiet[key] = 0.0
                    previous = sub.seq
                    self.update_ids[symbol] += 1
                    sub.seq = self.update_ids[symbol]
                    now = self.now_ms()
                    data = {"update": {"asks": [], "bids": []}, "t": now, "tt": now, "u": sub.seq, "pu": previous}
                    data["cs"] = self._checksum(sub, bad=False)
                    await self._book_message(conn, -1, sub, "book.update", data)

    async def _heartbeat(self, conn: Connection) -> None:
        pending = self._heartbeats.get(conn.id)
        if pending is not None and time.monotonic() - pending[1] > self.heartbeat_timeout_sec:
            self.stats["heartbeat_timeouts"] += 1
            await conn.ws.close()
            return
        self._since_heartbeat[conn.id] = self._since_heartbeat.get(conn.id, 0.0) + self.interval
        if self._since_heartbeat[conn.id] < self.heartbeat_sec or pending is not None:
            return
        self._since_heartbeat[conn.id] = 0.0
        heartbeat_id = self.now_ms()
        self._heartbeats[conn.id] = (heartbeat_id, time.monotonic())
        self.stats["heartbeats_sent"] += 1
        await self._send(conn, {"id": heartbeat_id, "method": "public/heartbeat", "code": 0})

    # --- wire format -----------------------------------------------------------------

    def _checksum(self, sub: Subscription, bad: bool) -> int:
        bids = [(plain(p), plain(q)) for p, q in sorted(sub.view[0].items(), reverse=True)[:CHECKSUM_LEVELS]]
        asks = [(plain(p), plain(q)) for p, q in sorted(sub.view[1].items())[:CHECKSUM_LEVELS]]
        value = stand_in_checksum(bids, asks)
        return value ^ 1 if bad else value

    async def _book_message(
        self, conn: Connection, request_id: Any, sub: Subscription, channel: str, data: Any
    ) -> None:
        name = instrument_name(sub.symbol)
        result = {"instrument_name": name, "subscription": sub.channel, "channel": channel, "depth": sub.depth}
        await self._send(
            conn, {"id": request_id, "method": "subscribe", "code": 0, "result": {**result, "data": [data]}}
        )

    async def _error(self, conn: Connection, request_id: Any, method: Any, code: int, message: str) -> None:
        self.stats["errors"] += 1
        await self._send(conn, {"id": request_id, "method": method, "code": code, "message": message})

    @staticmethod
    async def _send(conn: Connection, message: dict[str, Any]) -> None:
        await conn.ws.send_str(orjson.dumps(message).decode())


def _levels(levels: list[tuple[Decimal, Decimal]]) -> list[list[str]]:
    """[price, quantity, order count] as strings; quantity and count 0 remove the level."""
    out = []
    for price, size in levels:
        count = 0 if not size else 1 + int(size * 1000) % 7
        out.append([plain(price), plain(size), str(count)])
    return out


def _decimals(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]
