"""The exchanges the product knows, one entry each: the only list of them.

Everything that needs to know an exchange reads its entry here: the seed migration
(id and name), admin and the commands' `--exchanges` checks (ids), `ingest` and
`sync_fees` (the ccxt options), the connectors (the adapter and its tuning) and the
simulated market (how its books look). Adding an exchange is one entry below, plus an
adapter module only when ccxt needs help with its protocol (docs/exchanges.md).

Pure data: no Django, no ccxt (the adapter is named by its import path and imported by
the connectors when they need it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kernel.ids import normalize_exchange_id

# Only spot markets matter to the scanner; ccxt loads derivatives too by default on these.
_SPOT_ONLY: Mapping[str, Any] = MappingProxyType({"fetchMarkets": {"types": ["spot"]}})


@dataclass(frozen=True, slots=True)
class SimulatedVenue:
    """How the simulated market draws this exchange's books: plausible orders of magnitude
    for 2024-era spot markets, not measurements."""

    spread_bps: float  # top-of-book spread of a liquid pair (BTC-USDT)
    depth: float  # multiplier of the notional resting on each level
    step_bps: float  # typical distance between consecutive levels
    lag_ms: int  # typical ts_ingest - ts_event


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    id: str  # ccxt's id, also the product's (books, fees, episodes)
    name: str  # what people read
    simulated: SimulatedVenue
    # ccxt `options` every instance of this exchange gets (market data and fee sync alike).
    ccxt_options: Mapping[str, Any] = field(default_factory=dict)
    # Added for streaming only: ingest needs no currencies (an authenticated call on some).
    streaming_options: Mapping[str, Any] = field(default_factory=dict)
    # The connector's defaults (ccxt_config.ConnectorSettings field names).
    connector: Mapping[str, Any] = field(default_factory=dict)
    # "module:Class" of an adapter that covers what ccxt leaves out; "" for the generic one.
    adapter: str = ""

    def ccxt_config(self, *, streaming: bool) -> dict[str, Any]:
        """The constructor config ccxt gets before the operator's --ccxt-config is merged in."""
        options = {**self.ccxt_options, **(self.streaming_options if streaming else {})}
        return {"options": _copy(options)} if options else {}


def _copy(value: Any) -> Any:
    """A plain, mutable deep copy: ccxt writes into the options it is given."""
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


_NO_CURRENCIES = {"fetchCurrencies": False}
_ADAPTERS = "exchanges.connectors.exchanges"

EXCHANGES: tuple[ExchangeInfo, ...] = (
    ExchangeInfo(
        "binance",
        "Binance",
        SimulatedVenue(spread_bps=0.4, depth=1.00, step_bps=0.6, lag_ms=25),
        ccxt_options={**_SPOT_ONLY, "fetchMargins": False},
        streaming_options=_NO_CURRENCIES,
        # Snapshot weight grows with depth; a resubscription re-snapshots its whole batch.
        connector={"watch_limit": 100, "batch_size": 20},
        adapter=f"{_ADAPTERS}.binance:BinanceAdapter",
    ),
    ExchangeInfo(
        "okx",
        "OKX",
        SimulatedVenue(spread_bps=0.6, depth=0.85, step_bps=0.8, lag_ms=35),
        ccxt_options=_SPOT_ONLY,
        streaming_options=_NO_CURRENCIES,
        connector={"batch_size": 50},
        adapter=f"{_ADAPTERS}.okx:OkxAdapter",
    ),
    ExchangeInfo(
        "bybit",
        "Bybit",
        SimulatedVenue(spread_bps=0.8, depth=0.75, step_bps=0.8, lag_ms=35),
        ccxt_options=_SPOT_ONLY,
        # Bybit spot takes at most 10 topics per subscribe request (ccxt sends one per call).
        connector={"batch_size": 10},
        adapter=f"{_ADAPTERS}.bybit:BybitAdapter",
    ),
    ExchangeInfo(
        "coinbase",
        "Coinbase",
        SimulatedVenue(spread_bps=1.2, depth=0.60, step_bps=1.0, lag_ms=45),
        adapter=f"{_ADAPTERS}.coinbase:CoinbaseAdapter",
    ),
    ExchangeInfo(
        "kraken",
        "Kraken",
        SimulatedVenue(spread_bps=2.0, depth=0.45, step_bps=1.5, lag_ms=60),
        # Kraken's CRC32 covers the top 10 levels of each side: only those are stored, so
        # a lost update deeper down can never leave a "healthy" but wrong tail. 25 is the
        # subscription depth Kraken offers that keeps the top 10 whole as levels move.
        connector={"watch_limit": 25, "depth": 10, "batch_size": 50},
        adapter=f"{_ADAPTERS}.kraken:KrakenAdapter",
    ),
    ExchangeInfo(
        "kucoin",
        "KuCoin",
        SimulatedVenue(spread_bps=2.0, depth=0.40, step_bps=1.5, lag_ms=70),
        ccxt_options=_SPOT_ONLY,
        adapter=f"{_ADAPTERS}.kucoin:KucoinAdapter",
    ),
    ExchangeInfo(
        "gate",
        "Gate",
        SimulatedVenue(spread_bps=2.5, depth=0.35, step_bps=2.0, lag_ms=80),
        ccxt_options=_SPOT_ONLY,
        # ccxt applies spot.obu increments without checking that the depth ids follow on.
        adapter=f"{_ADAPTERS}.gate:GateAdapter",
    ),
    ExchangeInfo(
        "htx",
        "HTX",
        SimulatedVenue(spread_bps=2.5, depth=0.30, step_bps=2.0, lag_ms=90),
        # htx reads fetchMarkets.types as a dict (the list form of _SPOT_ONLY breaks it).
        ccxt_options={"fetchMarkets": {"types": {"spot": True, "linear": False, "inverse": False}}},
        # ccxt stalls the socket on a seqNum break and cannot sync a quiet book.
        adapter=f"{_ADAPTERS}.htx:HtxAdapter",
    ),
    ExchangeInfo(
        "bitget",
        "Bitget",
        SimulatedVenue(spread_bps=1.5, depth=0.50, step_bps=1.2, lag_ms=50),
        ccxt_options=_SPOT_ONLY,
        adapter=f"{_ADAPTERS}.bitget:BitgetAdapter",
    ),
    ExchangeInfo(
        "mexc",
        "MEXC",
        SimulatedVenue(spread_bps=3.0, depth=0.30, step_bps=2.0, lag_ms=100),
        # Spot pushes are protobuf (ccxt needs a package we do not install) and ccxt
        # never checks their versions: the adapter decodes and syncs them itself.
        adapter=f"{_ADAPTERS}.mexc:MexcAdapter",
    ),
    ExchangeInfo(
        "bitfinex",
        "Bitfinex",
        SimulatedVenue(spread_bps=3.0, depth=0.30, step_bps=2.5, lag_ms=70),
        # Bitfinex carries at most 25 channels a connection; the adapter fills one per batch.
        connector={"batch_size": 25},
        adapter=f"{_ADAPTERS}.bitfinex:BitfinexAdapter",
    ),
    ExchangeInfo(
        "bitstamp",
        "Bitstamp",
        SimulatedVenue(spread_bps=3.5, depth=0.25, step_bps=2.5, lag_ms=60),
        adapter=f"{_ADAPTERS}.bitstamp:BitstampAdapter",
    ),
    ExchangeInfo(
        "gemini",
        "Gemini",
        SimulatedVenue(spread_bps=4.0, depth=0.20, step_bps=3.0, lag_ms=80),
        adapter=f"{_ADAPTERS}.gemini:GeminiAdapter",
    ),
    ExchangeInfo(
        "cryptocom",
        "Crypto.com",
        SimulatedVenue(spread_bps=2.0, depth=0.40, step_bps=1.5, lag_ms=60),
        adapter=f"{_ADAPTERS}.cryptocom:CryptocomAdapter",
    ),
)

BY_ID: Mapping[str, ExchangeInfo] = MappingProxyType({info.id: info for info in EXCHANGES})
IDS: tuple[str, ...] = tuple(BY_ID)


class UnknownExchange(ValueError):
    """An exchange id the product does not support; the message lists the ones it does."""


def get(exchange_id: str) -> ExchangeInfo:
    info = BY_ID.get(exchange_id)
    if info is None:
        raise UnknownExchange(f"unknown exchange {exchange_id!r}; choose from {', '.join(IDS)}")
    return info


def select(given: Iterable[str]) -> list[str]:
    """Ids a person typed, lower-cased, in their order without repeats, each one supported.
    Raises UnknownExchange naming every unknown one."""
    chosen = list(dict.fromkeys(normalize_exchange_id(name) for name in given))
    unknown = [name for name in chosen if name not in BY_ID]
    if unknown:
        raise UnknownExchange(f"unknown exchange(s) {', '.join(unknown)}; choose from {', '.join(IDS)}")
    return chosen
