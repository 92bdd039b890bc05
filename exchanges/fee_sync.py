"""What an exchange publishes about its fees, asked through ccxt (for `manage.py sync_fees`).

Three ccxt methods, each tried on its own so that one refused call (no API key, an
endpoint down) costs only what it would have told:
- `fetch_trading_fees` (or `fetch_trading_fee` of one market where an exchange has only
  that, e.g. okx): the taker fee. The product keeps one taker fee per exchange, so it is
  the highest taker fee among the watched markets (never makes an edge look better than
  it is), else the most common spot fee; with the per-market call, the first watched
  market's (fee tiers are per account, not per market, on those exchanges).
- `fetch_deposit_withdraw_fees`: the withdrawal fee per asset and network.
- `fetch_currencies`: per network, whether deposits and withdrawals are enabled (and the
  fee, used when the previous call is not offered).

ccxt's answers are outside data: every number is checked and converted to Decimal here,
a value that makes no sense is reported and left out. No Django in this module; the
command decides what to write.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import ccxt

from exchanges.connectors.base import describe_error

logger = logging.getLogger(__name__)

T = TypeVar("T")

BPS = Decimal(10_000)
TAKER_QUANTUM = Decimal("0.001")  # Exchange.taker_fee_bps has 3 decimals
FEE_QUANTUM = Decimal("1e-12")  # WithdrawalFee.fee has 12 decimals
MAX_TAKER = Decimal("0.1")  # 1,000 bps, the model's bound: more is bad data
MAX_WITHDRAW_FEE = Decimal("1e15")  # WithdrawalFee.fee: 28 digits, 12 of them decimals
MAX_NETWORK_LEN = 32


class FeeFetchError(Exception):
    """The exchange could not be asked at all (its markets did not load)."""


@dataclass(frozen=True, slots=True)
class NetworkFee:
    asset: str
    network: str  # ccxt's unified network code: ERC20, TRC20, BTC, ...
    fee: Decimal | None  # withdrawal fee in asset units; None: not published
    deposits_enabled: bool | None  # None: not published
    withdrawals_enabled: bool | None
    contract: str | None = None  # the token's contract address; None: not published in full


@dataclass(slots=True)
class PublishedFees:
    exchange: str
    taker_fee_bps: Decimal | None = None
    taker_source: str = ""  # which market(s) the taker fee came from
    networks: list[NetworkFee] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line per call that told nothing

    @property
    def found_anything(self) -> bool:
        return self.taker_fee_bps is not None or bool(self.networks)


def fetch_published_fees(
    exchange_id: str,
    config: Mapping[str, Any],
    symbols: Sequence[str],
    assets: Collection[str],
    *,
    factory: Callable[[str, Mapping[str, Any]], Any] | None = None,
) -> PublishedFees:
    """Ask one exchange; raises FeeFetchError only when nothing at all could be asked."""
    exchange = (factory or make_exchange)(exchange_id, config)
    result = PublishedFees(exchange_id)
    try:
        try:
            exchange.load_markets()
        except Exception as exc:  # ccxt.BaseError, or a ccxt bug on odd data: same outcome
            raise FeeFetchError(f"cannot load markets: {describe_error(exc)}") from exc
        taker = _attempt(result, "trading fees", lambda: _taker(exchange, symbols))
        if taker is not None:
            result.taker_fee_bps, result.taker_source = taker
        currencies = _attempt(
            result, "fetch_currencies", lambda: _call(exchange, "fetchCurrencies", "fetch_currencies")
        )
        withdraw = _attempt(
            result,
            "fetch_deposit_withdraw_fees",
            lambda: _call(exchange, "fetchDepositWithdrawFees", "fetch_deposit_withdraw_fees"),
        )
        result.networks = _networks(currencies or {}, withdraw or {}, assets, result.problems)
    finally:
        _close(exchange)
    return result


def make_exchange(exchange_id: str, config: Mapping[str, Any]) -> Any:
    exchange_class = getattr(ccxt, exchange_id, None)
    if not isinstance(exchange_class, type):
        raise FeeFetchError(f"ccxt has no exchange {exchange_id!r}")
    return exchange_class(dict(config))


class _NotOffered(Exception):
    """ccxt has no such method for this exchange: reported, not an error."""


def _attempt(result: PublishedFees, what: str, call: Callable[[], T]) -> T | None:
    try:
        return call()
    except _NotOffered as exc:
        result.problems.append(f"{what}: {exc}")
    except Exception as exc:
        result.problems.append(f"{what}: {describe_error(exc)}")
        logger.debug("fee call failed", extra={"exchange": result.exchange, "call": what}, exc_info=exc)
    return None


def _call(exchange: Any, capability: str, method: str) -> Any:
    if not exchange.has.get(capability):
        raise _NotOffered(f"not offered by ccxt for {exchange.id}")
    return getattr(exchange, method)()


def _taker(exchange: Any, symbols: Sequence[str]) -> tuple[Decimal, str] | None:
    markets: Mapping[str, Any] = exchange.markets or {}
    watched = [u for u in (s.replace("-", "/") for s in symbols) if (markets.get(u) or {}).get("spot")]
    if exchange.has.get("fetchTradingFees"):
        fees: Mapping[str, Any] = exchange.fetch_trading_fees() or {}
        takers = [(u, _taker_bps(fees[u])) for u in watched if u in fees]
        known = [(u, bps) for u, bps in takers if bps is not None]
        if known:
            return max(bps for _, bps in known), f"highest of {len(known)} watched market(s)"
        spot = [_taker_bps(fee) for u, fee in fees.items() if (markets.get(u) or {}).get("spot")]
        common = Counter(bps for bps in spot if bps is not None).most_common(1)
        if common:
            return common[0][0], "most common spot fee"
        raise ValueError("no usable spot taker fee in the answer")
    if exchange.has.get("fetchTradingFee"):
        if not watched:
            raise _NotOffered("the exchange lists none of the watched markets to ask the fee of")
        bps = _taker_bps(exchange.fetch_trading_fee(watched[0]))
        if bps is None:
            raise ValueError(f"no usable taker fee for {watched[0]}")
        return bps, watched[0]
    raise _NotOffered(f"not offered by ccxt for {exchange.id}")


def _taker_bps(fee: Any) -> Decimal | None:
    value = _decimal(fee.get("taker") if isinstance(fee, Mapping) else None)
    if value is None or not 0 <= value <= MAX_TAKER:
        return None
    return (value * BPS).quantize(TAKER_QUANTUM)


def _decimal(value: Any) -> Decimal | None:
    """A finite number from ccxt (float, int or numeric string), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _networks(
    currencies: Mapping[str, Any], withdraw_fees: Mapping[str, Any], assets: Collection[str], problems: list[str]
) -> list[NetworkFee]:
    found: list[NetworkFee] = []
    for asset in sorted(set(assets)):
        by_flags = _dict((currencies.get(asset) or {}).get("networks") if isinstance(currencies, Mapping) else None)
        by_fees = _dict(
            (withdraw_fees.get(asset) or {}).get("networks") if isinstance(withdraw_fees, Mapping) else None
        )
        for network in sorted(set(by_flags) | set(by_fees), key=str):
            if not isinstance(network, str) or not network or len(network) > MAX_NETWORK_LEN:
                problems.append(f"{asset}: network name {network!r} skipped")
                continue
            flags = _dict(by_flags.get(network))
            raw_fee = _dict(_dict(by_fees.get(network)).get("withdraw")).get("fee")
            if raw_fee is None:
                raw_fee = flags.get("fee")
            fee = _decimal(raw_fee)
            if raw_fee is not None and (fee is None or not 0 <= fee < MAX_WITHDRAW_FEE):
                problems.append(f"{asset} on {network}: implausible withdrawal fee {raw_fee!r} skipped")
                fee = None
            found.append(
                NetworkFee(
                    asset=asset,
                    network=network,
                    fee=None if fee is None else fee.quantize(FEE_QUANTUM),
                    deposits_enabled=_flag(flags.get("deposit")),
                    withdrawals_enabled=_flag(flags.get("withdraw")),
                    contract=_contract(_dict(flags.get("info"))),
                )
            )
    return found


# ccxt has no unified field for a network's contract: the exchange's own answer names it.
_CONTRACT_FIELDS = ("contractAddress", "contract_address", "contractAddr", "tokenAddress", "contract", "ctAddr")
_CONTRACT = re.compile(r"^[A-Za-z0-9:/._-]{20,128}$")  # an address in full: 0x..., base58, bech32...


def _contract(info: Mapping[Any, Any]) -> str | None:
    """The contract address in the exchange's raw network entry, when given in full (okx
    shows only its last characters: an abbreviation would compare as a different coin)."""
    for name in _CONTRACT_FIELDS:
        value = info.get(name)
        if isinstance(value, str) and _CONTRACT.match(value.strip()) and "://" not in value:  # not an explorer link
            return value.strip()
    return None


def _dict(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _close(exchange: Any) -> None:
    close = getattr(exchange, "close", None)
    if callable(close):
        try:
            close()
        except Exception as exc:  # closing a session never decides the outcome
            logger.debug("closing the ccxt session failed", extra={"error": describe_error(exc)})
