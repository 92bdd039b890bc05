"""The `--ccxt-config FILE.json` file (or `CCXT_CONFIG_FILE`): exchange endpoints and
connector tuning are configuration, not code (docs/design.md, "Contracts").

    {
      "binance": {"urls": {...}, "options": {...}, "connector": {"batch_size": 20}},
      "okx": {"urls": {...}},
      "connector": {"silence_sec": 30, "book_silence_sec": 120},
      "backoff": {"initial": 1, "factor": 2, "cap": 60, "jitter": 0.25}
    }

An exchange's entry (everything but its `connector` key) is deep-merged into the config
ccxt's constructor gets, over the exchange's defaults in exchanges.registry, so tests, staging
and a self-hosted proxy run the unchanged connector code. `connector` (top level: every
exchange; inside an exchange entry: that one) tunes `ConnectorSettings`; `backoff` is the
reconnect policy. The file is checked as a whole before anything runs; a mistake is one
line naming the file and the key at fault.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from exchanges import registry
from exchanges.connectors.runner import BackoffPolicy
from kernel.text import brief, name_of

RESERVED = ("connector", "backoff")


class CcxtConfigError(ValueError):
    """The config file cannot be used; the message is one line naming the file and key."""


@dataclass(frozen=True, slots=True)
class ConnectorSettings:
    """How one exchange's connector behaves. Defaults suit the real exchanges; tests shrink
    the timings through the config file."""

    depth: int = 25  # levels per side written to the store
    watch_limit: int | None = None  # `limit` passed to ccxt's watch (an exchange's valid depth)
    batch_size: int = 50  # symbols per watch_order_book_for_symbols call (and resync unit)
    # Seconds: changed books are converted and handed on at most this often. 5 ms keeps the
    # send-to-Redis p99 near 30 ms at 20k msgs/s (docs/benchmarks.md); 20 ms doubled it.
    publish_interval: float = 0.005
    subscribe_interval: float = 0.25  # seconds between subscribing two batches (pacing)
    concurrent_syncs: int | None = None  # batches syncing at once (default: 1, or 8 of one symbol each)
    # The silence watchdog (integrity.py). A batch with no update for `silence_factor` times
    # its usual gap between updates (at least `min_silence_sec`, at most `silence_sec`)
    # is presumed dead and reconnected; a book silent for `book_silence_factor` times its own
    # usual gap (between `min_book_silence_sec` and `book_silence_sec`) is resynced alone.
    # Until enough updates were seen to know the usual gap, the maxima apply.
    silence_sec: float = 30.0
    min_silence_sec: float = 1.5
    silence_factor: float = 10.0
    book_silence_sec: float = 120.0
    min_book_silence_sec: float = 5.0
    book_silence_factor: float = 20.0
    stale_after_sec: float = 10.0  # a live book older than this counts as stale in the metrics
    resync_initial: float = 0.5  # pause before resubscribing after a gap; doubles while they repeat
    resync_cap: float = 30.0
    reconnect: BackoffPolicy = field(default_factory=BackoffPolicy)

    def __post_init__(self) -> None:
        for name in ("depth", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("watch_limit", "concurrent_syncs"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("publish_interval", "subscribe_interval"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in (
            "silence_sec",
            "min_silence_sec",
            "silence_factor",
            "book_silence_sec",
            "min_book_silence_sec",
            "book_silence_factor",
            "stale_after_sec",
            "resync_initial",
            "resync_cap",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")

    def batch_silence_limit(self, usual_gap: float | None) -> float:
        """How long a batch may stay silent, given its usual gap between updates (None:
        not known yet)."""
        return _silence_limit(usual_gap, self.silence_factor, self.min_silence_sec, self.silence_sec)

    def book_silence_limit(self, usual_gap: float | None) -> float:
        """How long one book may stay silent while its batch streams."""
        return _silence_limit(usual_gap, self.book_silence_factor, self.min_book_silence_sec, self.book_silence_sec)


def _silence_limit(usual_gap: float | None, factor: float, floor: float, cap: float) -> float:
    """`factor` usual gaps, between `floor` and `cap`; `cap` while the usual gap is unknown."""
    if usual_gap is None:
        return cap
    return min(cap, max(floor, factor * usual_gap))


_INT_FIELDS = {"depth", "batch_size", "watch_limit", "concurrent_syncs"}
_OPTIONAL_FIELDS = {"watch_limit", "concurrent_syncs"}
_FLOAT_FIELDS = {f.name for f in dataclasses.fields(ConnectorSettings)} - _INT_FIELDS - {"reconnect"}
_BACKOFF_FIELDS = {f.name for f in dataclasses.fields(BackoffPolicy)}


# The ccxt constructor fields that are credentials.
SECRET_FIELDS = ("apiKey", "secret", "password", "privateKey", "uid")


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """A checked config file: what to hand ccxt and how to tune each connector."""

    exchanges: dict[str, dict[str, Any]] = field(default_factory=dict)
    connector: dict[str, Any] = field(default_factory=dict)
    connector_by_exchange: dict[str, dict[str, Any]] = field(default_factory=dict)
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    source: str = "(defaults)"
    # apiKey/secret/password per exchange, decrypted from the database (never from a file).
    credentials: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    def ccxt_config(self, exchange: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
        """The constructor config of `exchange`: its module's defaults under the file's entry,
        and the stored API credentials over both. Rate limiting stays on: it is what paces
        snapshot requests."""
        merged = deep_merge(defaults, self.exchanges.get(exchange, {}))
        merged.update(self.credentials.get(exchange, {}))
        merged.setdefault("enableRateLimit", True)
        return merged

    def with_credentials(self, credentials: Mapping[str, Mapping[str, str]]) -> IngestConfig:
        return dataclasses.replace(self, credentials={k: dict(v) for k, v in credentials.items()})

    def holding_secrets(self) -> list[str]:
        """The exchanges whose file entry carries API credentials."""
        return [name for name, entry in self.exchanges.items() if any(field in entry for field in SECRET_FIELDS)]

    def public_only(self) -> IngestConfig:
        """The same config without any API credential: for reading public market data. ccxt
        given keys calls private endpoints on its own (okx's load_markets fetches the
        account's currencies), and a key without that permission would stop the feed."""
        entries = {
            name: {key: value for key, value in entry.items() if key not in SECRET_FIELDS}
            for name, entry in self.exchanges.items()
        }
        return dataclasses.replace(self, exchanges=entries, credentials={})

    def settings(self, exchange: str, defaults: Mapping[str, Any]) -> ConnectorSettings:
        values = {**defaults, **self.connector, **self.connector_by_exchange.get(exchange, {})}
        try:
            return ConnectorSettings(reconnect=self.backoff, **values)
        except ValueError as exc:
            raise CcxtConfigError(f"{self.source}: {exchange}.connector: {exc}") from None


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` over `base`: nested objects merge key by key, anything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_ingest_config(path: str | Path | None) -> IngestConfig:
    """Read and check a config file; no path means every default."""
    if not path:
        return IngestConfig()
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CcxtConfigError(f"{source}: cannot read the ccxt config ({exc.strerror or exc})") from None
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CcxtConfigError(f"{source}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    return parse_ingest_config(raw, source)


def parse_ingest_config(raw: Any, source: str = "ccxt config") -> IngestConfig:
    if not isinstance(raw, dict):
        raise CcxtConfigError(f"{source}: expected a JSON object of exchange ids, got {type(raw).__name__}")
    exchanges: dict[str, dict[str, Any]] = {}
    by_exchange: dict[str, dict[str, Any]] = {}
    for key, entry in raw.items():
        if key in RESERVED:
            continue
        if key not in registry.BY_ID:
            raise CcxtConfigError(
                f"{source}: unknown exchange {brief(key, 40)}; use one of {', '.join(registry.IDS)}, "
                f"or {' / '.join(RESERVED)}"
            )
        if not isinstance(entry, dict):
            raise CcxtConfigError(f"{source}: {key}: expected an object, got {type(entry).__name__}")
        for part in ("urls", "options"):
            if part in entry and not isinstance(entry[part], dict):
                raise CcxtConfigError(f"{source}: {key}.{part}: expected an object, got {type(entry[part]).__name__}")
        entry = dict(entry)
        by_exchange[key] = _connector_values(entry.pop("connector", {}), f"{source}: {key}.connector")
        exchanges[key] = entry
    connector = _connector_values(raw.get("connector", {}), f"{source}: connector")
    backoff = _backoff(raw.get("backoff", {}), f"{source}: backoff")
    checks = [("connector", connector)]
    checks += [(f"{exchange}.connector", {**connector, **values}) for exchange, values in by_exchange.items()]
    for where, values in checks:
        try:
            ConnectorSettings(**values)
        except ValueError as exc:
            raise CcxtConfigError(f"{source}: {where}: {exc}") from None
    return IngestConfig(exchanges, connector, by_exchange, backoff, source)


def _connector_values(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CcxtConfigError(f"{where}: expected an object, got {type(raw).__name__}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _INT_FIELDS:
            if key in _OPTIONAL_FIELDS and value is None:
                values[key] = None
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise CcxtConfigError(f"{where}.{key}: expected a whole number, got {brief(value)}")
            values[key] = value
        elif key in _FLOAT_FIELDS:
            values[key] = _number(value, f"{where}.{key}")
        else:
            known = ", ".join(sorted(_INT_FIELDS | _FLOAT_FIELDS))
            raise CcxtConfigError(f"{where}: unknown setting {brief(key, 40)}; known: {known}")
    return values


def _backoff(raw: Any, where: str) -> BackoffPolicy:
    if not isinstance(raw, dict):
        raise CcxtConfigError(f"{where}: expected an object, got {type(raw).__name__}")
    unknown = set(raw) - _BACKOFF_FIELDS
    if unknown:
        raise CcxtConfigError(
            f"{where}: unknown setting(s) {', '.join(name_of(key) for key in sorted(unknown))}; "
            f"known: {', '.join(sorted(_BACKOFF_FIELDS))}"
        )
    values = {key: _number(value, f"{where}.{key}") for key, value in raw.items()}
    try:
        return BackoffPolicy(**values)
    except ValueError as exc:
        raise CcxtConfigError(f"{where}: {exc}") from None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CcxtConfigError(f"{where}: expected a number, got {brief(value)}")
    return float(value)
