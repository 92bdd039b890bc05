"""A fake OKX: REST public instruments and the public websocket `books` channel.

Protocol as OKX documents it (v5 "Order book channel") and as ccxt/pro/okx.py consumes it:

- `GET /api/v5/public/instruments?instType=SPOT` answers `{"code": "0", "msg": "", "data":
  [{"instType": "SPOT", "instId": "BTC-USDT", "baseCcy": "BTC", "quoteCcy": "USDT", ...}]}`.
- Websocket `/ws/v5/public`: `{"op": "subscribe", "args": [{"channel": "books", "instId":
  "BTC-USDT"}]}` gets `{"event": "subscribe", "arg": {...}, "connId": "..."}`, then
  `{"arg": {...}, "action": "snapshot", "data": [{"asks": [["8476.98", "415", "0", "13"]],
  "bids": [...], "ts": "1597026383085", "checksum": -855196043, "prevSeqId": -1, "seqId":
  123456}]}` and updates with `"action": "update"`, whose prevSeqId is the seqId of the
  previous message. `op: unsubscribe` is answered with `event: unsubscribe`. The text
  frame `ping` is answered with `pong`.
- The checksum is the CRC32 (as a signed 32-bit integer) of the top 25 levels interleaved
  `bid_px:bid_sz:ask_px:ask_sz:...` with the strings exactly as sent. `checksum_mode =
  "zero"` sends 0 instead, as OKX announced for its JSON channels from mid-2026.

Subscribing to a channel already subscribed is acknowledged and answered with a fresh
snapshot.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Any, Literal

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, plain
from tests.fakes.server import Connection, FakeExchange, Subscription

DEPTH = 400  # the `books` channel
CHECKSUM_LEVELS = 25


def okx_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts.extend(bids[i])
        if i < len(asks):
            parts.extend(asks[i])
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


class FakeOkx(FakeExchange):
    name = "okx"

    def __init__(self, books: list[TrueBook], *, checksum_mode: Literal["crc", "zero"] = "crc", **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self.checksum_mode = checksum_mode
        self.seq = 10_000

    def ccxt_config(self) -> dict[str, Any]:
        return {
            "urls": {"api": {"rest": self.http_url, "ws": f"{self.ws_url}/ws/v5"}},
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v5/public/instruments", self.instruments)
        app.router.add_get("/ws/v5/public", self.websocket)

    async def instruments(self, request: web.Request) -> web.Response:
        self.stats["instruments"] += 1
        if request.query.get("instType") != "SPOT":
            return web.json_response({"code": "0", "msg": "", "data": []})
        data = []
        for symbol, book in self.books.items():
            base, quote = symbol.split("-")
            data.append(
                {
                    "instType": "SPOT",
                    "instId": symbol,
                    "uly": "",
                    "instFamily": "",
                    "baseCcy": base,
                    "quoteCcy": quote,
                    "settleCcy": "",
                    "ctVal": "",
                    "ctMult": "",
                    "ctValCcy": "",
                    "optType": "",
                    "stk": "",
                    "listTime": "1606468572000",
                    "expTime": "",
                    "lever": "10",
                    "tickSz": plain(book.tick),
                    "lotSz": plain(book.lot),
                    "minSz": plain(book.lot),
                    "ctType": "",
                    "alias": "",
                    "state": "live",
                    "ruleType": "normal",
                    "maxLmtSz": "9999999999",
                    "maxMktSz": "1000000",
                }
            )
        return web.json_response({"code": "0", "msg": "", "data": data})

    async def on_text(self, conn: Connection, text: str) -> None:
        if text == "ping":
            await conn.ws.send_str("pong")
            return
        request = orjson.loads(text)
        op = request.get("op")
        for arg in request.get("args", []):
            symbol = arg.get("instId")
            if arg.get("channel") != "books" or symbol not in self.books:
                await self._send(conn, {"event": "error", "code": "60018", "msg": f"Wrong URL or channel:{arg}"})
                continue
            await self._send(conn, {"event": op, "arg": arg, "connId": conn.id})
            if op == "subscribe":
                self.stats["subscribes"] += 1
                sub = Subscription(symbol, DEPTH, channel="books")
                conn.subscriptions[symbol] = sub
                await self._send_book(conn, sub, "snapshot", gap=False, bad_checksum=False)
            elif op == "unsubscribe":
                conn.subscriptions.pop(symbol, None)

    def on_publish(self, symbol: str, gap: bool) -> None:
        self.seq += 2 if gap else 1

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        await self._send_book(conn, sub, "update", gap, bad_checksum)

    async def _send_book(self, conn: Connection, sub: Subscription, action: str, gap: bool, bad_checksum: bool) -> None:
        new = self.view_of(self.books[sub.symbol], DEPTH)
        if action == "snapshot":
            bids, asks = sorted(new[0].items(), reverse=True), sorted(new[1].items())
            prev = -1
        else:
            bids, asks = self.diff(sub.view, new)
            prev = self.seq - 1 if gap else sub.seq
        sub.view = new
        sub.seq = self.seq
        top_bids = [(plain(p), plain(q)) for p, q in sorted(new[0].items(), reverse=True)[:CHECKSUM_LEVELS]]
        top_asks = [(plain(p), plain(q)) for p, q in sorted(new[1].items())[:CHECKSUM_LEVELS]]
        checksum = okx_checksum(top_bids, top_asks) if self.checksum_mode == "crc" else 0
        if bad_checksum:
            checksum = checksum + 1 if checksum != 0 else 12345
        data = {
            "asks": [self._level(p, q) for p, q in asks],
            "bids": [self._level(p, q) for p, q in bids],
            "ts": str(self.now_ms()),
            "checksum": checksum,
            "prevSeqId": prev,
            "seqId": self.seq,
        }
        await self._send(conn, {"arg": {"channel": "books", "instId": sub.symbol}, "action": action, "data": [data]})

    @staticmethod
    def _level(price: Decimal, size: Decimal) -> list[str]:
        return [plain(price), plain(size), "0", "0" if not size else "1"]

    @staticmethod
    async def _send(conn: Connection, message: dict[str, Any]) -> None:
        await conn.ws.send_str(orjson.dumps(message).decode())
