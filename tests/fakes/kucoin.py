"""A fake KuCoin (classic spot): the REST endpoints ccxt loads markets from, the public
bullet token, the level-2 REST snapshot, and the websocket `/market/level2` topic.

Protocol as KuCoin documents it (spot "Level2 - Market Data", "Get Part OrderBook",
"Apply Connect Token", "Ping") and as ccxt/pro/kucoin.py consumes it:

- `GET /api/v2/symbols`, `GET /api/v1/market/allTickers` (ccxt reads the fee rates there)
  and `GET /api/v3/currencies` answer `{"code": "200000", "data": ...}`.
- `POST /api/v1/bullet-public` answers `{"code": "200000", "data": {"token": "...",
  "instanceServers": [{"endpoint": "wss://ws-api-spot.kucoin.com/", "encrypt": true,
  "protocol": "websocket", "pingInterval": 18000, "pingTimeout": 10000}]}}`; the client
  connects to `endpoint?token=...&connectId=...` and is greeted `{"id": "<connectId>",
  "type": "welcome"}`.
- `{"id": "1", "type": "subscribe", "topic": "/market/level2:BTC-USDT,ETH-USDT",
  "response": true}` (at most 100 symbols per topic) is acknowledged `{"id": "1", "type":
  "ack"}`; an unknown symbol or topic gets `{"id": "1", "type": "error", "code": 404,
  "data": "topic /market/level2:XXX-USDT is not found"}`. Then, per symbol, deltas only:
  `{"type": "message", "topic": "/market/level2:BTC-USDT", "subject": "trade.l2update",
  "data": {"changes": {"asks": [["18906", "0.00331", "14103845"]], "bids": [...]},
  "sequenceStart": 14103845, "sequenceEnd": 14103845, "symbol": "BTC-USDT", "time": ms}}`.
  Every change carries its own sequence; a message's changes span sequenceStart ..
  sequenceEnd, and the next message starts at sequenceEnd + 1. A size of "0" removes a
  level. There is no snapshot on the socket and no checksum.
- The snapshot is REST: `GET /api/v1/market/orderbook/level2_100?symbol=BTC-USDT` (or
  `level2_20`) answers `{"code": "200000", "data": {"time": ms, "sequence": "3262786978",
  "bids": [["6500.12", "0.45054140"]], "asks": [...]}}`: the book as of `sequence`.
- `{"id": "7", "type": "ping"}` is answered `{"id": "7", "type": "pong", "timestamp": ms}`.

A gap is a delta the client never receives: the next one's sequenceStart skips.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, plain
from tests.fakes.server import Connection, FakeExchange, Subscription

FULL_DEPTH = 10_000
MAX_SYMBOLS_PER_TOPIC = 100
SNAPSHOT_DEPTHS = {"level2_20": 20, "level2_100": 100}
TOPIC = "/market/level2"


class FakeKucoin(FakeExchange):
    name = "kucoin"

    def __init__(self, books: list[TrueBook], **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self.sequences = dict.fromkeys(self.books, 1_613_277_183_000)  # last sequence per symbol
        # what the exchange last published of each book (deltas are computed against it)
        self._published = {s: self.view_of(b, FULL_DEPTH) for s, b in self.books.items()}
        self._messages: dict[str, dict[str, Any] | None] = {}

    def ccxt_config(self) -> dict[str, Any]:
        return {
            "urls": {"api": {"public": self.http_url, "private": self.http_url}},
            "options": {"fetchMarkets": {"types": ["spot"]}},
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v2/symbols", self.symbols)
        app.router.add_get("/api/v1/market/allTickers", self.all_tickers)
        app.router.add_get("/api/v3/currencies", self.currencies)
        app.router.add_post("/api/v1/bullet-public", self.bullet_public)
        app.router.add_get("/api/v1/market/orderbook/{level}", self.snapshot)
        app.router.add_get("/endpoint", self.websocket)

    # --- REST ----------------------------------------------------------------------

    @staticmethod
    def _ok(data: Any) -> web.Response:
        return web.json_response({"code": "200000", "data": data})

    async def symbols(self, request: web.Request) -> web.Response:
        self.stats["symbols"] += 1
        data = []
        for symbol, book in self.books.items():
            base, quote = symbol.split("-")
            data.append(
                {
                    "symbol": symbol,
                    "name": symbol,
                    "baseCurrency": base,
                    "quoteCurrency": quote,
                    "feeCurrency": quote,
                    "market": "USDS",
                    "baseMinSize": plain(book.lot),
                    "quoteMinSize": "0.1",
                    "baseMaxSize": "10000000000",
                    "quoteMaxSize": "99999999",
                    "baseIncrement": plain(book.lot),
                    "quoteIncrement": "0.000001",
                    "priceIncrement": plain(book.tick),
                    "priceLimitRate": "0.1",
                    "minFunds": "0.1",
                    "isMarginEnabled": True,
                    "enableTrading": True,
                    "feeCategory": 1,
                    "makerFeeCoefficient": "1.00",
                    "takerFeeCoefficient": "1.00",
                    "st": False,
                }
            )
        return self._ok(data)

    async def all_tickers(self, request: web.Request) -> web.Response:
        tickers = []
        for symbol, book in self.books.items():
            bid, ask = book.sorted_bids()[0][0], book.sorted_asks()[0][0]
            tickers.append(
                {
                    "symbol": symbol,
                    "symbolName": symbol,
                    "buy": plain(bid),
                    "sell": plain(ask),
                    "last": plain(bid),
                    "vol": "100",
                    "volValue": "1000000",
                    "takerFeeRate": "0.001",
                    "makerFeeRate": "0.001",
                    "takerCoefficient": "1",
                    "makerCoefficient": "1",
                }
            )
        return self._ok({"time": self.now_ms(), "ticker": tickers})

    async def currencies(self, request: web.Request) -> web.Response:
        data = []
        for code in sorted({part for symbol in self.books for part in symbol.split("-")}):
            chain = {
                "chainName": code,
                "chainId": code.lower(),
                "withdrawalMinSize": "0.001",
                "depositMinSize": "0.0001",
                "withdrawalMinFee": "0.0005",
                "isWithdrawEnabled": True,
                "isDepositEnabled": True,
                "confirms": 1,
                "preConfirms": 1,
                "contractAddress": "",
                "needTag": False,
            }
            data.append(
                {
                    "currency": code,
                    "name": code,
                    "fullName": code,
                    "precision": 8,
                    "confirms": None,
                    "contractAddress": None,
                    "isMarginEnabled": True,
                    "isDebitEnabled": True,
                    "chains": [chain],
                }
            )
        return self._ok(data)

    async def bullet_public(self, request: web.Request) -> web.Response:
        self.stats["bullets"] += 1
        server = {
            "endpoint": f"{self.ws_url}/endpoint",
            "encrypt": True,
            "protocol": "websocket",
            "pingInterval": 18000,
            "pingTimeout": 10000,
        }
        return self._ok({"token": f"fake-token-{self.stats['bullets']}", "instanceServers": [server]})

    async def snapshot(self, request: web.Request) -> web.Response:
        depth = SNAPSHOT_DEPTHS.get(request.match_info["level"])
        symbol = request.query.get("symbol", "")
        if depth is None or symbol not in self.books:
            return web.json_response({"code": "400100", "msg": "This pair is not provided at present"})
        refused = self.snapshot_gate()
        if refused is not None:
            return refused
        self.stats["snapshots_served"] += 1
        # the book as the stream has told it so far (what sequence names)
        bids, asks = self._published[symbol]
        data = {
            "time": self.now_ms(),
            "sequence": str(self.sequences[symbol]),
            "bids": [[plain(p), plain(q)] for p, q in sorted(bids.items(), reverse=True)[:depth]],
            "asks": [[plain(p), plain(q)] for p, q in sorted(asks.items())[:depth]],
        }
        return self._ok(data)

    # --- websocket -----------------------------------------------------------------

    async def on_connect(self, conn: Connection) -> None:
        await self._send(conn, {"id": conn.id, "type": "welcome"})

    async def on_text(self, conn: Connection, text: str) -> None:
        request = orjson.loads(text)
        kind, request_id = request.get("type"), request.get("id")
        if kind == "ping":
            await self._send(conn, {"id": request_id, "type": "pong", "timestamp": self.now_ms() * 1000})
            return
        topic = str(request.get("topic", ""))
        channel, _, ids = topic.partition(":")
        symbols = ids.split(",") if ids else []
        error = None
        if kind not in ("subscribe", "unsubscribe"):
            error = (415, "type is not supported")
        elif channel != TOPIC or not symbols or any(s not in self.books for s in symbols):
            error = (404, f"topic {topic} is not found")
        elif len(symbols) > MAX_SYMBOLS_PER_TOPIC:
            error = (509, f"exceed max subscription count limitation of {MAX_SYMBOLS_PER_TOPIC} per topic")
        if error is not None:
            self.stats["errors_sent"] += 1
            await self._send(conn, {"id": request_id, "type": "error", "code": error[0], "data": error[1]})
            return
        for symbol in symbols:
            if kind == "subscribe":
                self.stats["subscribes"] += 1
                conn.subscriptions[symbol] = Subscription(symbol, FULL_DEPTH, channel=TOPIC)
            else:
                conn.subscriptions.pop(symbol, None)
        if request.get("response"):
            await self._send(conn, {"id": request_id, "type": "ack"})

    def on_publish(self, symbol: str, gap: bool) -> None:
        """Number the changes since the last publication, one sequence each, and keep the
        message every subscriber is sent (None: lost on the way, the gap fault)."""
        new = self.view_of(self.books[symbol], FULL_DEPTH)
        bids, asks = self.diff(self._published[symbol], new)
        self._published[symbol] = new
        if not bids and not asks:
            self._messages[symbol] = None
            return
        start = self.sequences[symbol] + 1
        sequence = start - 1

        def numbered(levels: list[tuple[Decimal, Decimal]]) -> list[list[str]]:
            nonlocal sequence
            out = []
            for price, size in levels:
                sequence += 1
                out.append([plain(price), plain(size), str(sequence)])
            return out

        changes = {"asks": numbered(asks), "bids": numbered(bids)}
        self.sequences[symbol] = sequence
        data = {"changes": changes, "sequenceEnd": sequence, "sequenceStart": start, "symbol": symbol}
        self._messages[symbol] = None if gap else {"data": data}

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        message = self._messages.get(sub.symbol)
        if message is None:
            return
        data = {**message["data"], "time": self.now_ms()}
        await self._send(
            conn, {"type": "message", "topic": f"{TOPIC}:{sub.symbol}", "subject": "trade.l2update", "data": data}
        )

    @staticmethod
    async def _send(conn: Connection, message: dict[str, Any]) -> None:
        await conn.ws.send_str(orjson.dumps(message).decode())
