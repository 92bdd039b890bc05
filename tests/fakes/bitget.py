"""A fake Bitget (v2): REST spot symbols and margin currencies, and the public websocket
`books` channel.

Protocol as Bitget documents it (v2 "Depth Channel", "Websocket API") and as
ccxt/pro/bitget.py consumes it:

- `GET /api/v2/spot/public/symbols` answers `{"code": "00000", "msg": "success",
  "requestTime": ms, "data": [{"symbol": "BTCUSDT", "baseCoin": "BTC", "quoteCoin":
  "USDT", "pricePrecision": "2", "quantityPrecision": "6", "status": "online", ...}]}`;
  ccxt also reads `GET /api/v2/margin/currencies` when it loads spot markets, and
  `GET /api/v2/spot/public/coins` (its fetch_currencies is public: always called).
- Websocket `/v2/ws/public`: `{"op": "subscribe", "args": [{"instType": "SPOT",
  "channel": "books", "instId": "BTCUSDT"}]}` is acknowledged per arg with `{"event":
  "subscribe", "arg": {...}}` and followed by `{"action": "snapshot", "arg": {...},
  "data": [{"asks": [["21041.11", "0.0445"]], "bids": [...], "checksum": -1367582038,
  "seq": 123, "ts": "1656413855484"}], "ts": ms}`, then `"action": "update"` messages.
  `books` is the whole book, incremental; `books1`/`books5`/`books15` are fixed-depth
  snapshots. A size of "0" removes a level. `seq` increases with every change of the
  book (it orders messages; it is not promised to be contiguous).
- Prices and sizes are strings printed with the pair's precision ("2.4400"). The checksum
  is the CRC32, as a signed 32-bit integer, of the top 25 levels interleaved
  `bid_px:bid_sz:ask_px:ask_sz:...` with the strings exactly as sent; every message
  (snapshot or update) carries the checksum of the book after it.
- An unknown channel or instId is answered `{"event": "error", "arg": {...}, "code":
  30001, "msg": "... doesn't exist", "op": "subscribe"}`. `op: unsubscribe` gets `{"event":
  "unsubscribe", "arg": {...}}`; subscribing to a channel already subscribed is
  acknowledged and answered with a fresh snapshot. The text frame `ping` is answered with
  `pong` (clients ping every 30 s; a connection without one for 2 minutes is closed).

A gap is an update the client never receives (there are no contiguous sequence
numbers): only the checksum of the next one tells.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, fixed
from tests.fakes.server import Connection, FakeExchange, Subscription

FULL_DEPTH = 10_000  # `books`: every level
FIXED_DEPTHS = {"books1": 1, "books5": 5, "books15": 15}
CHECKSUM_LEVELS = 25


def market_id(symbol: str) -> str:
    return symbol.replace("-", "")


def decimals(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]


def bitget_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts.extend(bids[i])
        if i < len(asks):
            parts.extend(asks[i])
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


class FakeBitget(FakeExchange):
    name = "bitget"

    def __init__(self, books: list[TrueBook], **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self._by_id = {market_id(s): s for s in self.books}
        self.seqs = dict.fromkeys(self.books, 5_000)

    def ccxt_config(self) -> dict[str, Any]:
        return {
            "urls": {
                "api": {
                    "spot": self.http_url,
                    "margin": self.http_url,
                    "ws": {"public": f"{self.ws_url}/v2/ws/public"},
                }
            },
            "options": {"fetchMarkets": {"types": ["spot"]}},
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v2/spot/public/symbols", self.symbols)
        app.router.add_get("/api/v2/margin/currencies", self.margin_currencies)
        app.router.add_get("/api/v2/spot/public/coins", self.coins)
        app.router.add_get("/v2/ws/public", self.websocket)

    # --- REST ----------------------------------------------------------------------

    def _ok(self, data: Any) -> web.Response:
        return web.json_response({"code": "00000", "msg": "success", "requestTime": self.now_ms(), "data": data})

    async def symbols(self, request: web.Request) -> web.Response:
        self.stats["symbols"] += 1
        data = []
        for symbol, book in self.books.items():
            base, quote = symbol.split("-")
            data.append(
                {
                    "symbol": market_id(symbol),
                    "baseCoin": base,
                    "quoteCoin": quote,
                    "minTradeAmount": "0",
                    "maxTradeAmount": "10000000000",
                    "takerFeeRate": "0.001",
                    "makerFeeRate": "0.001",
                    "pricePrecision": str(decimals(book.tick)),
                    "quantityPrecision": str(decimals(book.lot)),
                    "quotePrecision": str(decimals(book.tick)),
                    "status": "online",
                    "minTradeUSDT": "1",
                    "buyLimitPriceRatio": "0.05",
                    "sellLimitPriceRatio": "0.05",
                    "areaSymbol": "no",
                    "orderQuantity": "200",
                    "openTime": "1532454360000",
                    "offTime": "",
                }
            )
        return self._ok(data)

    async def coins(self, request: web.Request) -> web.Response:
        """ccxt's fetch_currencies, public on Bitget: load_markets always asks."""
        data: list[dict[str, Any]] = []
        for code in sorted({part for symbol in self.books for part in symbol.split("-")}):
            chain = {
                "chain": code,
                "needTag": "false",
                "withdrawable": "true",
                "rechargeable": "true",
                "withdrawFee": "0.0005",
                "extraWithdrawFee": "0",
                "depositConfirm": "1",
                "withdrawConfirm": "1",
                "minDepositAmount": "0.0001",
                "minWithdrawAmount": "0.001",
                "withdrawStep": "0",
                "withdrawMinScale": "8",
                "congestion": "normal",
            }
            data.append({"coinId": str(len(data) + 1), "coin": code, "transfer": "true", "chains": [chain]})
        return self._ok(data)

    async def margin_currencies(self, request: web.Request) -> web.Response:
        data = []
        for symbol in self.books:
            base, quote = symbol.split("-")
            data.append(
                {
                    "symbol": market_id(symbol),
                    "baseCoin": base,
                    "quoteCoin": quote,
                    "maxCrossedLeverage": "3",
                    "maxIsolatedLeverage": "10",
                    "isBorrowable": True,
                    "isCrossBorrowable": True,
                    "isIsolatedBaseBorrowable": True,
                    "isIsolatedQuoteBorrowable": True,
                    "status": "1",
                }
            )
        return self._ok(data)

    # --- websocket -----------------------------------------------------------------

    async def on_text(self, conn: Connection, text: str) -> None:
        if text == "ping":
            await conn.ws.send_str("pong")
            return
        request = orjson.loads(text)
        op = request.get("op")
        for arg in request.get("args") or []:
            channel, inst_id = arg.get("channel"), arg.get("instId")
            symbol = self._by_id.get(inst_id)
            known = channel == "books" or channel in FIXED_DEPTHS
            if op not in ("subscribe", "unsubscribe") or not known or symbol is None or arg.get("instType") != "SPOT":
                self.stats["errors_sent"] += 1
                message = f"instType:{arg.get('instType')},channel:{channel},instId:{inst_id} doesn't exist"
                await self._send(conn, {"event": "error", "arg": arg, "code": 30001, "msg": message, "op": op})
                continue
            await self._send(conn, {"event": op, "arg": arg})
            if op == "unsubscribe":
                conn.subscriptions.pop(symbol, None)
                continue
            self.stats["subscribes"] += 1
            sub = Subscription(symbol, FIXED_DEPTHS.get(channel, FULL_DEPTH), channel=channel)
            conn.subscriptions[symbol] = sub
            await self._send_book(conn, sub, "snapshot", bad_checksum=False)

    def on_publish(self, symbol: str, gap: bool) -> None:
        self.seqs[symbol] += 1 + self.rng.randrange(3)

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        if gap:
            # The update is lost on the way: the client never hears of it.
            sub.view = self.view_of(self.books[sub.symbol], sub.depth)
            return
        kind = "update" if sub.channel == "books" else "snapshot"
        await self._send_book(conn, sub, kind, bad_checksum)

    async def _send_book(self, conn: Connection, sub: Subscription, kind: str, bad_checksum: bool) -> None:
        book = self.books[sub.symbol]
        new = self.view_of(book, sub.depth)
        if kind == "snapshot":
            bids, asks = sorted(new[0].items(), reverse=True), sorted(new[1].items())
        else:
            bids, asks = self.diff(sub.view, new)
        sub.view = new
        pd, qd = decimals(book.tick), decimals(book.lot)

        def text(levels: list[tuple[Decimal, Decimal]]) -> list[list[str]]:
            return [[fixed(p, pd), fixed(q, qd)] for p, q in levels]

        top_bids = text(sorted(new[0].items(), reverse=True)[:CHECKSUM_LEVELS])
        top_asks = text(sorted(new[1].items())[:CHECKSUM_LEVELS])
        checksum = bitget_checksum(
            [(p, q) for p, q in top_bids],
            [(p, q) for p, q in top_asks],
        )
        if bad_checksum:
            checksum = checksum + 1 if checksum < (1 << 31) - 1 else checksum - 1
        now = self.now_ms()
        data = {
            "asks": text(asks),
            "bids": text(bids),
            "checksum": checksum,
            "seq": self.seqs[sub.symbol],
            "ts": str(now),
        }
        arg = {"instType": "SPOT", "channel": sub.channel, "instId": market_id(sub.symbol)}
        await self._send(conn, {"action": kind, "arg": arg, "data": [data], "ts": now})

    @staticmethod
    async def _send(conn: Connection, message: dict[str, Any]) -> None:
        await conn.ws.send_str(orjson.dumps(message).decode())
