"""A fake HTX (Huobi) spot: REST `v1/common/symbols` and `v2/reference/currencies`, and the
websocket market-by-price channel `market.<symbol>.mbp.<levels>` on `/feed`.

Protocol as HTX documents it ("Market By Price (incremental update)", "Market By Price
(refresh update)" request) and as ccxt/pro/htx.py 4.5.90 consumes it for spot:

- `GET /v1/common/symbols` answers `{"status": "ok", "data": [{"base-currency": "btc",
  "quote-currency": "usdt", "symbol": "btcusdt", "price-precision": 2,
  "amount-precision": 6, "value-precision": 8, "state": "online", ...}]}`; `GET
  /v2/reference/currencies` answers `{"code": 200, "data": [...]}` (ccxt loads both).
- Websocket `/feed` (`/ws` too): every frame the server sends is GZIP-compressed JSON in a
  binary frame; the client sends plain JSON text. `{"sub": "market.btcusdt.mbp.150",
  "id": "1"}` (levels 5, 20, 150 or 400) is acknowledged with `{"id": "1", "status":
  "ok", "subbed": "market.btcusdt.mbp.150", "ts": ms}`, then increments `{"ch":
  "market.btcusdt.mbp.150", "ts": ms, "tick": {"seqNum": 104998984994, "prevSeqNum":
  104998984977, "bids": [[9058.27, 0]], "asks": [[9084.27, 0.2]]}}` (prices and sizes
  are JSON numbers; a size of 0 removes the level; levels entering the top N are sent;
  no message when nothing changed). Sequence numbers are not consecutive: an increment's
  prevSeqNum is the seqNum of the previous increment of that book. The full book comes
  only on request: `{"req": "market.btcusdt.mbp.150", "id": "2"}` is answered with
  `{"id": "2", "rep": "market.btcusdt.mbp.150", "status": "ok", "ts": ms, "data":
  {"seqNum": ..., "bids": [...], "asks": [...]}}`.
- Errors: `{"status": "error", "ts": ms, "id": "2", "err-code": "bad-request",
  "err-msg": "invalid topic market.foousdt.mbp.150"}`; a request refused for load is
  `"err-code": "invalid-parameter", "err-msg": "request limit"`. `unsub` ends a
  subscription (`"unsubbed"`); a repeated `sub` is acknowledged again.
- Heartbeat: the server sends `{"ping": ms}` every 5 s and closes the connection after
  two of them go unanswered by `{"pong": ms}`; websocket ping frames get pong frames.

There is no checksum (`corrupt_checksum` has nothing to corrupt): seqNum/prevSeqNum are
the only integrity check. A gap here is an increment the client never receives; a failed
snapshot is an error reply to `req`.
"""

from __future__ import annotations

import contextlib
import gzip
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, plain
from tests.fakes.server import Connection, FakeExchange, Subscription

LEVELS = (5, 20, 150, 400)


def market_id(symbol: str) -> str:
    return symbol.replace("-", "").lower()


def decimals(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]


class FakeHtx(FakeExchange):
    name = "htx"

    def __init__(self, books: list[TrueBook], *, ping_interval: float = 5.0, **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self.ping_interval = ping_interval
        self.seq_nums = {symbol: 100_000_000 + 1_000_000 * i for i, symbol in enumerate(self.books)}
        self._prev_seq: dict[str, int] = {}
        self._by_id = {market_id(s): s for s in self.books}
        self._since_ping = 0.0
        self._unanswered: dict[str, int] = {}  # pings without a pong, by connection id

    def ccxt_config(self) -> dict[str, Any]:
        feed = {"public": f"{self.ws_url}/ws", "feed": f"{self.ws_url}/feed"}
        return {
            "urls": {"api": {"spot": self.http_url, "ws": {"api": {"spot": feed}}}},
            "options": {"fetchMarkets": {"types": {"spot": True, "linear": False, "inverse": False}}},
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/common/symbols", self.symbols)
        app.router.add_get("/v2/reference/currencies", self.currencies)
        app.router.add_get("/feed", self.websocket)
        app.router.add_get("/ws", self.websocket)

    # --- REST ----------------------------------------------------------------------

    async def symbols(self, request: web.Request) -> web.Response:
        self.stats["symbols"] += 1
        data = []
        for symbol, book in self.books.items():
            base, quote = symbol.lower().split("-")
            data.append(
                {
                    "base-currency": base,
                    "quote-currency": quote,
                    "price-precision": decimals(book.tick),
                    "amount-precision": decimals(book.lot),
                    "symbol-partition": "main",
                    "symbol": market_id(symbol),
                    "state": "online",
                    "value-precision": 8,
                    "min-order-amt": float(book.lot),
                    "max-order-amt": 1000,
                    "min-order-value": 5,
                    "limit-order-min-order-amt": float(book.lot),
                    "limit-order-max-order-amt": 1000,
                    "sell-market-min-order-amt": float(book.lot),
                    "sell-market-max-order-amt": 100,
                    "buy-market-max-order-value": 1000000,
                    "leverage-ratio": 5,
                    "super-margin-leverage-ratio": 3,
                    "api-trading": "enabled",
                    "tags": "",
                }
            )
        return web.json_response({"status": "ok", "data": data})

    async def currencies(self, request: web.Request) -> web.Response:
        codes = sorted({part.lower() for symbol in self.books for part in symbol.split("-")})
        data = [
            {
                "currency": code,
                "assetType": 1,
                "instStatus": "normal",
                "chains": [
                    {
                        "chain": code,
                        "displayName": code.upper(),
                        "baseChain": code.upper(),
                        "depositStatus": "allowed",
                        "withdrawStatus": "allowed",
                        "minDepositAmt": "0.0001",
                        "minWithdrawAmt": "0.001",
                        "maxWithdrawAmt": "100",
                        "withdrawPrecision": 8,
                        "transactFeeWithdraw": "0.0004",
                    }
                ],
            }
            for code in codes
        ]
        return web.json_response({"code": 200, "data": data})

    # --- websocket -----------------------------------------------------------------

    async def send_malformed(self) -> None:
        # HTX's frames are gzip: a broken one is broken JSON inside a good gzip stream.
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.ws.send_bytes(gzip.compress(b'{"ch":"market.btcusdt.mbp.150","tick":{"seqNum":'))
        self.stats["malformed_sent"] += 1

    async def on_text(self, conn: Connection, text: str) -> None:
        request = orjson.loads(text)
        if "pong" in request:
            self._unanswered[conn.id] = 0
            return
        request_id = request.get("id")
        for verb in ("sub", "unsub", "req"):
            if verb in request:
                topic = str(request[verb])
                break
        else:
            await self._error(conn, request_id, "bad-request", "invalid request")
            return
        parts = topic.split(".")
        symbol = self._by_id.get(parts[1]) if len(parts) == 4 and parts[0] == "market" else None
        if symbol is None or parts[2] != "mbp" or not parts[3].isdigit() or int(parts[3]) not in LEVELS:
            await self._error(conn, request_id, "bad-request", f"invalid topic {topic}")
            return
        if verb == "unsub":
            conn.subscriptions.pop(symbol, None)
            await self._send(conn, {"id": request_id, "status": "ok", "unsubbed": topic, "ts": self.now_ms()})
        elif verb == "sub":
            if symbol in conn.subscriptions:
                self.stats["repeated_subs"] += 1
            else:
                self.stats["subscribes"] += 1
                sub = Subscription(symbol, int(parts[3]), channel=topic)
                sub.view = self.view_of(self.books[symbol], sub.depth)
                sub.seq = self.seq_nums[symbol]
                conn.subscriptions[symbol] = sub
            await self._send(conn, {"id": request_id, "status": "ok", "subbed": topic, "ts": self.now_ms()})
        else:
            self.stats["snapshot_requests"] += 1
            if self._snapshot_failures:
                self._snapshot_failures.popleft()
                self.stats["snapshot_failed"] += 1
                await self._error(conn, request_id, "invalid-parameter", "request limit")
                return
            bids, asks = self.books[symbol].top(int(parts[3]))
            data = {"seqNum": self.seq_nums[symbol], "bids": self._levels(bids), "asks": self._levels(asks)}
            await self._send(conn, {"id": request_id, "rep": topic, "status": "ok", "ts": self.now_ms(), "data": data})

    async def tick_idle(self) -> None:
        self._since_ping += self.interval
        if self._since_ping < self.ping_interval:
            return
        self._since_ping = 0.0
        for conn in list(self.connections):
            if conn.ws.closed:
                continue
            missed = self._unanswered.get(conn.id, 0)
            if missed >= 2:
                self.stats["closed_for_no_pong"] += 1
                with contextlib.suppress(Exception):
                    await conn.ws.close()
                continue
            self._unanswered[conn.id] = missed + 1
            with contextlib.suppress(Exception):
                await self._send(conn, {"ping": self.now_ms()})

    def on_publish(self, symbol: str, gap: bool) -> None:
        self._prev_seq[symbol] = self.seq_nums[symbol]
        self.seq_nums[symbol] += self.rng.randint(1, 40)  # not consecutive on HTX

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        new = self.view_of(self.books[sub.symbol], sub.depth)
        bids, asks = self.diff(sub.view, new)
        sub.view = new
        if gap:
            return  # an increment this client never gets: the next one's prevSeqNum is unknown to it
        prev, sub.seq = self._prev_seq[sub.symbol], self.seq_nums[sub.symbol]
        tick = {"seqNum": sub.seq, "prevSeqNum": prev, "bids": self._levels(bids), "asks": self._levels(asks)}
        await self._send(conn, {"ch": sub.channel, "ts": self.now_ms(), "tick": tick})

    @staticmethod
    def _levels(levels: list[tuple[Decimal, Decimal]]) -> list[list[float]]:
        # JSON numbers, as HTX sends them; float(Decimal) prints back to the same digits
        return [[float(plain(p)), float(plain(q))] for p, q in levels]

    async def _error(self, conn: Connection, request_id: Any, code: str, message: str) -> None:
        self.stats["errors"] += 1
        await self._send(
            conn, {"status": "error", "ts": self.now_ms(), "id": request_id, "err-code": code, "err-msg": message}
        )

    @staticmethod
    async def _send(conn: Connection, message: dict[str, Any]) -> None:
        await conn.ws.send_bytes(gzip.compress(orjson.dumps(message)))
