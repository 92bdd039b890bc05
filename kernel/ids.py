"""The names of things, checked and normalised one way everywhere: exchange ids, assets and
symbols (docs/design.md, "Canonical model").

- An exchange id is lower-case ASCII: letters and digits, then also `_`, `.` or `-`, at
  most 32 characters (`binance`, `gate.io`, `crypto_com`). ccxt's ids all fit; `|` never
  does, because stores key books by `exchange|symbol`.
- An asset is 1 to 15 upper-case letters or digits (`BTC`, `1000SHIB`).
- A symbol is `BASE-QUOTE`, two assets joined by a dash (`BTC-USDT`).

What people type is normalised before it is checked: `btc/usdt` is the symbol `BTC-USDT`,
` Binance ` the exchange id `binance`.
"""

from __future__ import annotations

import re

ASSET_MAX_CHARS = 15
SYMBOL_MAX_CHARS = 2 * ASSET_MAX_CHARS + 1
EXCHANGE_ID_MAX_CHARS = 32

_ASSET = rf"[A-Z0-9]{{1,{ASSET_MAX_CHARS}}}"
ASSET_RE = re.compile(rf"^{_ASSET}$")
SYMBOL_RE = re.compile(rf"^({_ASSET})-({_ASSET})$")
EXCHANGE_ID_RE = re.compile(rf"^[a-z0-9][a-z0-9_.-]{{0,{EXCHANGE_ID_MAX_CHARS - 1}}}$")

ASSET_HELP = "an upper-case asset code of letters and digits, e.g. BTC"
SYMBOL_HELP = "BASE-QUOTE in upper case, e.g. BTC-USDT"
EXCHANGE_ID_HELP = "a lower-case exchange id of letters, digits, _, . or -, e.g. binance"


def is_asset(text: str) -> bool:
    return ASSET_RE.match(text) is not None


def is_symbol(text: str) -> bool:
    return SYMBOL_RE.match(text) is not None


def is_exchange_id(text: str) -> bool:
    return EXCHANGE_ID_RE.match(text) is not None


def normalize_asset(text: str) -> str:
    return text.strip().upper()


def normalize_symbol(text: str) -> str:
    """What a person means by a symbol: `btc/usdt` and ` BTC-USDT ` are `BTC-USDT`."""
    return text.strip().upper().replace("/", "-")


def normalize_exchange_id(text: str) -> str:
    return text.strip().lower()


def split_symbol(symbol: str) -> tuple[str, str]:
    """(base, quote) of a valid symbol."""
    base, _, quote = symbol.partition("-")
    return base, quote
