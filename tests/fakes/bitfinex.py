"""A fake Bitfinex: REST `conf` (the pair lists ccxt loads markets from) and the public
websocket v2 `book` channel (precision P0).

Protocol as Bitfinex documents it (WebSocket v2 "Books", "Checksum", "General", "Configuration
flags") and as ccxt/pro/bitfinex.py consumes it:

- `GET /v2/conf/pub:info:pair,pub:info:pair:futures,pub:list:pair:securities,pub:list:pair:margin`
  answers one list per label: `[[["BTCUSD", [null, null, null, "0.00006", "2000.0", ...]],
  ...], [], [], ["BTCUSD", ...]]`. Pair ids are 3+3 letters (`BTCUSD`) or `BASE:QUOTE` when
  either side is longer (`DOGE:USD`); USDT is `UST`. Websocket symbols prefix a `t`.
- Websocket `/ws/2`: on connect `{"event": "info", "version": 2, "serverId": ..., "platform":
  {"status": 1}}`. `{"event": "conf", "flags": N}` sets the connection's flags (131072:
  checksums, 65536: a sequence number appended to every message) and is answered with
  `{"event": "conf", "status": "OK", "flags": N}`. `{"event": "ping", "cid": 1}` gets
  `{"event": "pong", "ts": ms, "cid": 1}`.
- `{"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "prec": "P0", "freq": "F0",
  "len": "25"}` gets `{"event": "subscribed", "channel": "book", "chanId": 17082, "symbol":
  "tBTCUSD", "prec": "P0", "freq": "F0", "len": "25", "pair": "BTCUSD"}`, then the snapshot
  `[17082, [[7254.7, 3, 3.3], ..., [7254.8, 1, -0.5], ...]]` (bids best first, then asks
  best first, an ask's amount negative), then one message per changed level `[17082,
  [price, count, amount]]`, count 0 removing the level (amount 1 for a bid, -1 for an ask).
  The book holds the top `len` levels (1, 25, 100 or 250; 25 by default): a level leaving
  that range is removed and one entering it added, as on the real feed.
- With the checksum flag, each book iteration (the messages of one change) is followed by
  `[17082, "cs", -1234567]`: the CRC32, as a signed 32-bit integer, of the top 25 levels
  interleaved `bid_price:bid_amount:ask_price:ask_amount:...` (an ask's amount negative),
  each number as JavaScript prints it. No checksum follows the snapshot.
- `[17082, "hb"]` on a channel quiet for 15 s. `{"event": "unsubscribe", "chanId": 17082}`
  gets `{"event": "unsubscribed", "status": "OK", "chanId": 17082}`.
- `{"event": "info", "code": 20051, "msg": ...}` announces a server restart: clients should
  reconnect (`announce_restart()`).
- Errors echo the request with `"event": "error"`, a `msg` and a `code`: 10300 generic
  failure (a symbol the exchange does not list: "symbol: invalid"), 10301 already subscribed
  ("subscribe: dup"), 10302 unknown channel, 10305 more than 25 channels on a connection,
  10400 unsubscribe failure.

Faults: a gap is an update the client never gets (Bitfinex numbers messages only with the
sequence flag, which ccxt does not set), which the next checksum reveals; a snapshot
failure is a subscription answered with error 10300 (the snapshot comes from the socket).
Only P0 is served (R0 and P1-P4 are answered with 10300).
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, plain
from tests.fakes.server import Connection, FakeExchange, Subscription

CHECKSUM_LEVELS = 25
FLAG_SEQ_ALL = 65_536
FLAG_CHECKSUM = 131_072
CHANNEL_LIMIT = 25  # book, trades, ticker and candles channels per connection
VALID_LENGTHS = (1, 25, 100, 250)
HEARTBEAT_SEC = 15.0
CODES = {"USDT": "UST"}  # Bitfinex's own currency codes where they differ


def pair_id(symbol: str) -> str:
    base, quote = (CODES.get(part, part) for part in symbol.split("-"))
    return base + quote if len(base) == 3 and len(quote) == 3 else f"{base}:{quote}"


def js_number(value: Decimal) -> str:
    """A number as JavaScript's Number#toString prints it: plain decimals, exponent form
    below 1e-6 (`1e-7`, `-2.5e-7`)."""
    if value != 0 and abs(value) < Decimal("1e-6"):
        sign, digits, exponent = value.normalize().as_tuple()
        text = "".join(map(str, digits))
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{'-' if sign else ''}{mantissa}e{exponent + len(text) - 1}"  # type: ignore[operator]
    return plain(value) if value >= 0 else "-" + plain(-value)


def bitfinex_checksum(bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> int:
    """Over (price, amount) levels best first, an ask's amount negative."""
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        for side in (bids, asks):
            if i < len(side):
                parts += [js_number(side[i][0]), js_number(side[i][1])]
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


class FakeBitfinex(FakeExchange):
    name = "bitfinex"

    def __init__(self, books: list[TrueBook], **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self._by_id = {"t" + pair_id(s): s for s in self.books}
        self._chan_ids = iter(range(17_000, 10**9))
        self._flags: dict[str, int] = {}  # by connection id
        self._seq: dict[str, int] = {}  # by connection id: the last sequence number sent
        self._chan: dict[tuple[str, str], int] = {}  # (connection id, symbol) -> chanId
        self._quiet: dict[tuple[str, str], float] = {}  # seconds since a channel's last message
        self._failed_subscribes = 0

    def ccxt_config(self) -> dict[str, Any]:
        return {
            "urls": {"api": {"public": self.http_url, "ws": {"public": f"{self.ws_url}/ws/2"}}},
            "options": {"fetchCurrencies": False},
        }

    def fail_snapshots(self, count: int, status: int = 429) -> None:
        """The snapshot comes with the subscription: the next `count` subscriptions fail."""
        self._failed_subscribes += count

    async def announce_restart(self) -> None:
        """`info` 20051: the server is about to restart, clients should reconnect."""
        for conn in list(self.connections):
            await self._send(conn, {"event": "info", "code": 20051, "msg": "Stopping. Please try to reconnect"})
        self.stats["restart_announced"] += 1

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v2/conf/{config}", self.conf)
        app.router.add_get("/ws/2", self.websocket)

    # --- REST ----------------------------------------------------------------------

    async def conf(self, request: web.Request) -> web.Response:
        self.stats["conf"] += 1
        answers: list[Any] = []
        for label in request.match_info["config"].split(","):
            if label == "pub:info:pair":
                answers.append([[pair_id(s), self._pair_info(b)] for s, b in self.books.items()])
            elif label == "pub:list:pair:exchange":
                answers.append([pair_id(s) for s in self.books])
            else:  # futures, securities, margin pairs: none here
                answers.append([])
        return web.json_response(answers)

    @staticmethod
    def _pair_info(book: TrueBook) -> list[Any]:
        # [?, ?, ?, min order size, max order size, ?, ?, ?, initial margin, min margin, ?, ?]
        return [None, None, None, plain(book.lot * 1000), "2000.0", None, None, None, 0.2, 0.1, None, None]

    # --- websocket -----------------------------------------------------------------

    async def on_connect(self, conn: Connection) -> None:
        self._flags[conn.id] = 0
        self._seq[conn.id] = 0
        info = {"event": "info", "version": 2, "serverId": "5b73a436-19ca-4a15-8160-9069bdd7f181"}
        await self._send(conn, {**info, "platform": {"status": 1}})

    async def on_text(self, conn: Connection, text: str) -> None:
        request = orjson.loads(text)
        event = request.get("event")
        if event == "ping":
            await self._send(conn, {"event": "pong", "ts": self.now_ms(), "cid": request.get("cid")})
        elif event == "conf":
            self._flags[conn.id] = int(request.get("flags") or 0)
            self.stats["conf_events"] += 1
            await self._send(conn, {"event": "conf", "status": "OK", "flags": self._flags[conn.id]})
        elif event == "subscribe":
            await self._subscribe(conn, request)
        elif event == "unsubscribe":
            await self._unsubscribe(conn, request)
        else:
            await self._error(conn, request, 10000, "Unknown event")

    async def _subscribe(self, conn: Connection, request: dict[str, Any]) -> None:
        market = request.get("symbol") or "t" + str(request.get("pair", ""))
        symbol = self._by_id.get(market)
        if request.get("channel") != "book":
            await self._error(conn, request, 10302, "subscribe: unknown channel")
            return
        if symbol is None:
            await self._error(conn, request, 10300, "symbol: invalid")
            return
        prec, freq, length = request.get("prec", "P0"), request.get("freq", "F0"), int(request.get("len", 25))
        if prec != "P0" or freq not in ("F0", "F1") or length not in VALID_LENGTHS:
            await self._error(conn, request, 10300, "subscribe: invalid parameters")
            return
        if symbol in conn.subscriptions:
            self.stats["already_subscribed"] += 1
            await self._error(conn, request, 10301, "subscribe: dup")
            return
        if len(conn.subscriptions) >= CHANNEL_LIMIT:
            self.stats["channel_limit"] += 1
            await self._error(conn, request, 10305, "subscribe: limit")
            return
        if self._failed_subscribes > 0:
            self._failed_subscribes -= 1
            self.stats["snapshot_failed"] += 1
            await self._error(conn, request, 10300, "subscribe: failed")
            return
        self.stats["subscribes"] += 1
        chan_id = next(self._chan_ids)
        self._chan[(conn.id, symbol)] = chan_id
        reply = {"event": "subscribed", "channel": "book", "chanId": chan_id, "symbol": market}
        await self._send(conn, {**reply, "prec": prec, "freq": freq, "len": str(length), "pair": market[1:]})
        sub = Subscription(symbol, length, channel="book")
        sub.view = self.view_of(self.books[symbol], length)
        conn.subscriptions[symbol] = sub
        bids, asks = sorted(sub.view[0].items(), reverse=True), sorted(sub.view[1].items())
        levels = ",".join([self._level(p, q, "bids") for p, q in bids] + [self._level(p, q, "asks") for p, q in asks])
        await self._send_raw(conn, chan_id, f"[{levels}]")

    async def _unsubscribe(self, conn: Connection, request: dict[str, Any]) -> None:
        chan_id = request.get("chanId")
        for symbol in list(conn.subscriptions):
            if self._chan.get((conn.id, symbol)) == chan_id:
                del conn.subscriptions[symbol]
                del self._chan[(conn.id, symbol)]
                self.stats["unsubscribes"] += 1
                await self._send(conn, {"event": "unsubscribed", "status": "OK", "chanId": chan_id})
                return
        await self._error(conn, request, 10400, "unsubscribe: invalid")

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        new = self.view_of(self.books[sub.symbol], sub.depth)
        bids, asks = self.diff(sub.view, new)
        sub.view = new
        chan_id = self._chan[(conn.id, sub.symbol)]
        flags = self._flags.get(conn.id, 0)
        for side, changes in (("bids", bids), ("asks", asks)):
            for price, size in changes:
                if gap:  # the client never hears of it (its sequence number is used up)
                    self._seq[conn.id] += 1
                    continue
                await self._send_raw(conn, chan_id, self._level(price, size, side))
        if flags & FLAG_CHECKSUM:
            top_bids = sorted(new[0].items(), reverse=True)[:CHECKSUM_LEVELS]
            top_asks = [(p, -q) for p, q in sorted(new[1].items())[:CHECKSUM_LEVELS]]
            checksum = bitfinex_checksum(top_bids, top_asks)
            if bad_checksum:
                checksum = checksum + 1 if checksum < (1 << 31) - 1 else checksum - 1
            await self._send_raw(conn, chan_id, f'"cs",{checksum}')

    async def tick_idle(self) -> None:
        for conn in list(self.connections):
            for symbol in conn.subscriptions:
                key = (conn.id, symbol)
                self._quiet[key] = self._quiet.get(key, 0.0) + self.interval
                if self._quiet[key] >= HEARTBEAT_SEC and not conn.ws.closed:
                    await self._send_raw(conn, self._chan[key], '"hb"')

    # --- wire format -----------------------------------------------------------------

    @staticmethod
    def _level(price: Decimal, size: Decimal, side: str) -> str:
        """[price, count, amount]; count 0 removes the level (amount 1 for a bid, -1 for an ask)."""
        sign = "-" if side == "asks" else ""
        if not size:
            return f"[{plain(price)},0,{sign}1]"
        count = 1 + int(size * 1000) % 7  # orders at the level: any positive number will do
        return f"[{plain(price)},{count},{sign}{plain(size)}]"

    async def _send_raw(self, conn: Connection, chan_id: int, payload: str) -> None:
        """`[chanId, payload]`, with the connection's sequence number when it asked for one."""
        for (conn_id, symbol), chan in self._chan.items():
            if conn_id == conn.id and chan == chan_id:
                self._quiet[(conn_id, symbol)] = 0.0
        self._seq[conn.id] = self._seq.get(conn.id, 0) + 1
        tail = f",{self._seq[conn.id]}" if self._flags.get(conn.id, 0) & FLAG_SEQ_ALL else ""
        await conn.ws.send_str(f"[{chan_id},{payload}{tail}]")

    async def _error(self, conn: Connection, request: dict[str, Any], code: int, msg: str) -> None:
        self.stats["errors"] += 1
        await self._send(conn, {**request, "event": "error", "msg": msg, "code": code})

    @staticmethod
    async def _send(conn: Connection, message: dict[str, Any]) -> None:
        await conn.ws.send_str(orjson.dumps(message).decode())
