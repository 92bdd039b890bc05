"""Fake REST servers on 127.0.0.1 for what `sync_fees` asks: binance's and okx's fee and
currency endpoints, in the JSON those exchanges really send (shapes as in ccxt 4.5.90's
parsers and the exchanges' API docs), so the unchanged ccxt code parses them.

binance (signed `sapi` endpoints: the `X-MBX-APIKEY` header and a `signature` parameter
must be there, any value is accepted):
    GET /api/v3/exchangeInfo               spot markets (load_markets)
    GET /sapi/v1/capital/config/getall     coins with per-network fees and flags
    GET /sapi/v1/asset/tradeFee            maker/taker per symbol
okx (private endpoints need the OK-ACCESS-* headers; the signature is not checked):
    GET /api/v5/public/instruments         markets of an instType (only SPOT has any)
    GET /api/v5/asset/currencies           one entry per (currency, chain)
    GET /api/v5/account/trade-fee          the account's fee rates (negative = a cost)

`FakeFeesServer.fail(status)` makes every request fail with that status and the
exchange's own error body. `ccxt_config()` is the `--ccxt-config` entry pointing ccxt at
the server, with test API keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from tests.fakes.binance import symbol_info


@dataclass(frozen=True)
class Chain:
    """One network an asset moves over, as the exchange names it (binance `ETH`, okx
    `USDT-ERC20`)."""

    id: str
    fee: str
    deposit: bool = True
    withdraw: bool = True
    default: bool = False
    contract: str = ""  # the token's contract on this chain ("" for the chain's own coin)


@dataclass
class PublishedFees:
    """What an exchange publishes: taker fee per market id, chains per asset."""

    taker: dict[str, str]  # market id -> taker fee as a fraction ("0.001")
    chains: dict[str, list[Chain]] = field(default_factory=dict)


QUOTES = ("USDT", "USDC", "BTC", "ETH", "XYZ")


def _markets(ids: list[str]) -> list[tuple[str, str, str]]:
    """(id, base, quote) of the markets the fakes list: okx's BASE-QUOTE ids, or binance's
    BASEQUOTE ones, split at a known quote."""
    split = []
    for market in ids:
        if "-" in market:
            base, quote = market.split("-")
        else:
            quote = next(q for q in QUOTES if market.endswith(q) and len(market) > len(q))
            base = market[: -len(quote)]
        split.append((market, base, quote))
    return split


class FakeFeesServer:
    """A threaded HTTP server speaking one exchange's fee endpoints."""

    exchange = "fake"

    def __init__(self, published: PublishedFees) -> None:
        self.published = published
        self.failing_status: int | None = None
        self.requests: list[str] = []  # paths served, in order
        self.headers_seen: list[dict[str, str]] = []  # request headers (lower-case names), in order
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=f"fake-{self.exchange}", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, status: int = 500) -> None:
        self.failing_status = status

    def ccxt_config(self) -> dict[str, Any]:
        raise NotImplementedError

    # --- to implement per exchange ------------------------------------------------------

    def route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        raise NotImplementedError

    def error_body(self, status: int) -> Any:
        raise NotImplementedError

    # --- plumbing ------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                headers = {key.lower(): value for key, value in self.headers.items()}
                fake.requests.append(parts.path)
                fake.headers_seen.append(headers)
                if fake.failing_status is not None:
                    status, body = fake.failing_status, fake.error_body(fake.failing_status)
                else:
                    status, body = fake.route(parts.path, query, headers)
                data = orjson.dumps(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

        return Handler


class BinanceFees(FakeFeesServer):
    exchange = "binance"
    MARKETS = ["BTCUSDT", "ETHUSDT", "ETHBTC"]

    def ccxt_config(self) -> dict[str, Any]:
        return {
            "apiKey": "test-key",
            "secret": "test-secret",
            "urls": {
                "api": {
                    "public": f"{self.url}/api/v3",
                    "private": f"{self.url}/api/v3",
                    "v1": f"{self.url}/api/v1",
                    "sapi": f"{self.url}/sapi/v1",
                }
            },
        }

    def error_body(self, status: int) -> Any:
        return {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}

    def route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        if path == "/api/v3/exchangeInfo":
            return 200, self._exchange_info()
        if path.startswith("/sapi/"):
            if "x-mbx-apikey" not in headers:
                return 401, {"code": -2014, "msg": "API-key format invalid."}
            if "signature" not in query or "timestamp" not in query:
                return 400, {"code": -1102, "msg": "Mandatory parameter 'signature' was not sent."}
        if path == "/sapi/v1/capital/config/getall":
            return 200, [self._coin(code, chains) for code, chains in self.published.chains.items()]
        if path == "/sapi/v1/asset/tradeFee":
            return 200, [
                {"symbol": market, "makerCommission": taker, "takerCommission": taker}
                for market, taker in self.published.taker.items()
            ]
        return 404, {"code": -1, "msg": f"no route {path}"}

    def _exchange_info(self) -> dict[str, Any]:
        symbols = [
            symbol_info(market, base, quote, tick="0.01000000", lot="0.00001000")
            for market, base, quote in _markets(self.MARKETS)
        ]
        return {
            "timezone": "UTC",
            "serverTime": int(time.time() * 1000),
            "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}],
            "exchangeFilters": [],
            "symbols": symbols,
        }

    @staticmethod
    def _coin(code: str, chains: list[Chain]) -> dict[str, Any]:
        return {
            "coin": code,
            "depositAllEnable": any(c.deposit for c in chains),
            "withdrawAllEnable": any(c.withdraw for c in chains),
            "name": code.title(),
            "free": "0",
            "locked": "0",
            "freeze": "0",
            "withdrawing": "0",
            "ipoing": "0",
            "ipoable": "0",
            "storage": "0",
            "isLegalMoney": False,
            "trading": True,
            "networkList": [
                {
                    "network": chain.id,
                    "coin": code,
                    "withdrawIntegerMultiple": "0.00000001",
                    "isDefault": chain.default,
                    "depositEnable": chain.deposit,
                    "withdrawEnable": chain.withdraw,
                    "depositDesc": "" if chain.deposit else "Wallet Maintenance, Deposit Suspended",
                    "withdrawDesc": "" if chain.withdraw else "Wallet Maintenance, Withdrawal Suspended",
                    "specialTips": "",
                    "specialWithdrawTips": "",
                    "name": chain.id,
                    "resetAddressStatus": False,
                    "addressRegex": "^(0x)[0-9A-Fa-f]{40}$",
                    "memoRegex": "",
                    "withdrawFee": chain.fee,
                    "withdrawMin": "0.001",
                    "withdrawMax": "10000000000",
                    "withdrawInternalMin": "0.00000001",
                    "depositDust": "0.0000001",
                    "minConfirm": 12,
                    "unLockConfirm": 0,
                    "sameAddress": False,
                    "estimatedArrivalTime": 5,
                    "busy": False,
                    "contractAddressUrl": "",
                    "contractAddress": chain.contract,
                }
                for chain in chains
            ],
        }


class OkxFees(FakeFeesServer):
    exchange = "okx"
    MARKETS = ["BTC-USDT", "ETH-USDT", "ETH-BTC"]

    def ccxt_config(self) -> dict[str, Any]:
        return {
            "apiKey": "test-key",
            "secret": "test-secret",
            "password": "test-passphrase",
            "urls": {"api": {"rest": self.url}},
        }

    def error_body(self, status: int) -> Any:
        return {"code": "50001", "msg": "Service temporarily unavailable. Please try again later.", "data": []}

    def route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        if path == "/api/v5/public/instruments":
            spot = query.get("instType") == "SPOT"
            return 200, {"code": "0", "msg": "", "data": self._instruments() if spot else []}
        if path.startswith(("/api/v5/asset/", "/api/v5/account/")):
            needed = ("ok-access-key", "ok-access-sign", "ok-access-timestamp", "ok-access-passphrase")
            if not all(name in headers for name in needed):
                return 401, {"code": "50103", "msg": "Request header OK-ACCESS-KEY can not be empty.", "data": []}
        if path == "/api/v5/asset/currencies":
            return 200, {"code": "0", "msg": "", "data": self._currencies(query.get("ccy"))}
        if path == "/api/v5/account/trade-fee":
            taker = self.published.taker.get(query.get("instId", ""), "0.001")
            return 200, {"code": "0", "msg": "", "data": [self._fee_rate(taker)]}
        return 404, {"code": "50014", "msg": f"no route {path}", "data": []}

    def _instruments(self) -> list[dict[str, Any]]:
        return [
            {
                "alias": "",
                "auctionEndTime": "",
                "baseCcy": base,
                "category": "1",
                "ctMult": "",
                "ctType": "",
                "ctVal": "",
                "ctValCcy": "",
                "expTime": "",
                "instFamily": "",
                "instId": market,
                "instType": "SPOT",
                "lever": "10",
                "listTime": "1606468572000",
                "lotSz": "0.00000001",
                "maxIcebergSz": "9999999999.0000000000000000",
                "maxLmtAmt": "20000000",
                "maxLmtSz": "9999999999",
                "maxMktAmt": "1000000",
                "maxMktSz": "",
                "maxStopSz": "",
                "maxTriggerSz": "9999999999.0000000000000000",
                "maxTwapSz": "9999999999.0000000000000000",
                "minSz": "0.00001",
                "optType": "",
                "quoteCcy": quote,
                "ruleType": "normal",
                "settleCcy": "",
                "state": "live",
                "stk": "",
                "tickSz": "0.1",
                "uly": "",
            }
            for market, base, quote in _markets(self.MARKETS)
        ]

    def _currencies(self, only: str | None) -> list[dict[str, Any]]:
        wanted = set(only.split(",")) if only else None
        return [
            {
                "burningFeeRate": "",
                "canDep": chain.deposit,
                "canInternal": True,
                "canWd": chain.withdraw,
                "ccy": code,
                "chain": chain.id,
                "ctAddr": chain.contract[-6:],  # okx shows only the address's last characters
                "depEstOpenTime": "",
                "depQuotaFixed": "",
                "depQuoteDailyLayer2": "",
                "fee": chain.fee,
                "logoLink": "https://static.coinall.ltd/cdn/oksupport/asset/currency/icon/x.png",
                "mainNet": chain.default,
                "maxFee": chain.fee,
                "maxFeeForCtAddr": chain.fee,
                "maxWd": "100",
                "minDep": "0.00005",
                "minDepArrivalConfirm": "1",
                "minFee": chain.fee,
                "minFeeForCtAddr": chain.fee,
                "minInternal": "0.0001",
                "minWd": "0.0005",
                "minWdUnlockConfirm": "2",
                "name": code.title(),
                "needTag": False,
                "usedDepQuotaFixed": "",
                "usedWdQuota": "0",
                "wdEstOpenTime": "",
                "wdQuota": "10000000",
                "wdTickSz": "8",
            }
            for code, chains in self.published.chains.items()
            if wanted is None or code in wanted
            for chain in chains
        ]

    @staticmethod
    def _fee_rate(taker: str) -> dict[str, Any]:
        cost = f"-{taker}"  # okx reports fees as negative numbers (a rebate is positive)
        return {
            "category": "1",
            "delivery": "",
            "exercise": "",
            "fiat": [],
            "instType": "SPOT",
            "level": "Lv1",
            "maker": cost,
            "makerU": "",
            "makerUSDC": "",
            "ruleType": "normal",
            "taker": cost,
            "takerU": "",
            "takerUSDC": "",
            "ts": str(int(time.time() * 1000)),
        }


@contextmanager
def serving(*servers: FakeFeesServer) -> Iterator[dict[str, Any]]:
    """Run the servers; yields the `--ccxt-config` content for all of them."""
    for server in servers:
        server.start()
    try:
        yield {server.exchange: server.ccxt_config() for server in servers}
    finally:
        for server in servers:
            server.stop()
