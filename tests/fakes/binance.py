"""A fake Binance spot: REST `exchangeInfo` and `depth`, and the combined diff-depth stream.

Protocol as Binance documents it ("How to manage a local order book correctly") and as
ccxt/pro/binance.py consumes it:

- `GET /api/v3/exchangeInfo` lists the markets; `GET /api/v3/depth?symbol=BTCUSDT&limit=N`
  answers `{"lastUpdateId": 1027024, "bids": [["4.00000000", "431.00000000"]], "asks": [...]}`.
- Websocket `/stream/<n>`: the client sends `{"method": "SUBSCRIBE", "params":
  ["btcusdt@depth@100ms"], "id": 1}` and gets `{"result": null, "id": 1}`; then events
  `{"stream": "btcusdt@depth@100ms", "data": {"e": "depthUpdate", "E": ms, "s": "BTCUSDT",
  "U": first id, "u": last id, "b": [[price, qty]], "a": [...]}}`, each event's U being the
  previous event's u + 1 (spot carries no `pu`). A quantity of 0 removes the level.

Prices and sizes are printed padded to 8 decimals, as Binance does. A gap is an event
whose U skips ids; there is no checksum on Binance.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from tests.fakes.book import TrueBook, fixed
from tests.fakes.server import Connection, FakeExchange, Subscription

FULL_DEPTH = 10_000


def market_id(symbol: str) -> str:
    return symbol.replace("-", "")


def symbol_info(market: str, base: str, quote: str, tick: str, lot: str) -> dict[str, Any]:
    """One entry of binance's GET /api/v3/exchangeInfo `symbols`, as the real API sends it."""
    return {
        "symbol": market,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000", "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": lot, "maxQty": "9000.00000000", "stepSize": lot},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


class FakeBinance(FakeExchange):
    name = "binance"

    def __init__(self, books: list[TrueBook], **kwargs: Any) -> None:
        super().__init__(books, **kwargs)
        self.update_ids = {symbol: 1_000 for symbol in self.books}
        self._event_ids: dict[str, tuple[int, int]] = {}
        self._by_id = {market_id(s): s for s in self.books}

    def ccxt_config(self) -> dict[str, Any]:
        rest = f"{self.http_url}/api/v3"
        return {
            "urls": {"api": {"public": rest, "ws": {"spot": f"{self.ws_url}/stream"}}},
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v3/exchangeInfo", self.exchange_info)
        app.router.add_get("/api/v3/depth", self.depth)
        app.router.add_get("/stream/{n}", self.websocket)
        app.router.add_get("/stream", self.websocket)

    # --- REST ----------------------------------------------------------------------

    async def exchange_info(self, request: web.Request) -> web.Response:
        self.stats["exchange_info"] += 1
        symbols = []
        for symbol, book in self.books.items():
            base, quote = symbol.split("-")
            symbols.append(symbol_info(market_id(symbol), base, quote, fixed(book.tick, 8), fixed(book.lot, 8)))
        return web.json_response(
            {
                "timezone": "UTC",
                "serverTime": self.now_ms(),
                "rateLimits": [
                    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}
                ],
                "exchangeFilters": [],
                "symbols": symbols,
            }
        )

    async def depth(self, request: web.Request) -> web.Response:
        refused = self.snapshot_gate()
        if refused is not None:
            return refused
        symbol = self._by_id.get(request.query.get("symbol", ""))
        if symbol is None:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        self.stats[f"snapshot_requests:{symbol}"] += 1
        limit = int(request.query.get("limit", "100"))
        bids, asks = self.books[symbol].top(limit)
        return web.json_response(
            {
                "lastUpdateId": self.update_ids[symbol],
                "bids": [[fixed(p, 8), fixed(q, 8)] for p, q in bids],
                "asks": [[fixed(p, 8), fixed(q, 8)] for p, q in asks],
            }
        )

    # --- websocket -----------------------------------------------------------------

    async def on_text(self, conn: Connection, text: str) -> None:
        request = orjson.loads(text)
        method, params, request_id = request.get("method"), request.get("params", []), request.get("id")
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE"):
            await conn.ws.send_str(
                orjson.dumps({"error": {"code": 1, "msg": "Invalid request"}, "id": request_id}).decode()
            )
            return
        for stream in params:
            symbol = self._by_id.get(stream.split("@")[0].upper())
            if symbol is None:
                continue
            if method == "SUBSCRIBE":
                self.stats["subscribes"] += 1
                sub = Subscription(symbol, FULL_DEPTH, channel=stream)
                sub.view = self.view_of(self.books[symbol], FULL_DEPTH)
                conn.subscriptions[symbol] = sub
            else:
                conn.subscriptions.pop(symbol, None)
        await conn.ws.send_str(orjson.dumps({"result": None, "id": request_id}).decode())

    def on_publish(self, symbol: str, gap: bool) -> None:
        first = self.update_ids[symbol] + 1
        if gap:
            first += 5  # events the client never got
        last = first + self.changes_per_tick
        self.update_ids[symbol] = last
        self._event_ids[symbol] = (first, last)

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        new = self.view_of(self.books[sub.symbol], FULL_DEPTH)
        bids, asks = self.diff(sub.view, new)
        sub.view = new
        first, last = self._event_ids[sub.symbol]
        event = {
            "stream": sub.channel,
            "data": {
                "e": "depthUpdate",
                "E": self.now_ms(),
                "s": market_id(sub.symbol),
                "U": first,
                "u": last,
                "b": [[fixed(p, 8), fixed(q, 8)] for p, q in bids],
                "a": [[fixed(p, 8), fixed(q, 8)] for p, q in asks],
            },
        }
        await conn.ws.send_str(orjson.dumps(event).decode())
