"""Value types the engine takes and returns. Plain data, no Django, no I/O."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

OpportunityType = Literal["spatial", "triangular"]

# Risk flag codes (docs/design.md, "The engine: Risk flags").
RISK_OK = "ok"
RISK_ASSET_MISMATCH = "asset_mismatch"
RISK_NO_TRANSFER_ROUTE = "no_transfer_route"
RISK_ROUTE_UNVERIFIED = "route_unverified"
RISK_EXTREME_EDGE = "extreme_edge"
RISK_WITHDRAWALS_DISABLED = "withdrawals_disabled"
RISK_WITHDRAW_FEE_UNKNOWN = "withdraw_fee_unknown"
RISK_HIGH_LAG = "high_lag"
RISK_THIN_BOOK = "thin_book"


@dataclass(frozen=True, slots=True)
class ScanParams:
    """Thresholds of one scan (ScannerSettings in the database, flags of `manage.py scan`)."""

    target_notional_usdt: float = 1000.0
    min_net_edge_pct: float = 0.1
    slippage_bps: float = 5.0
    stale_after_sec: float = 10.0
    # Net edges above this are more likely bad data than money (see risk flags).
    extreme_edge_pct: float = 5.0
    # A book whose ts_ingest - ts_event exceeds this is flagged, never dropped.
    high_lag_ms: int = 2000
    # Flag when the target size eats more than this share of the visible depth on a side.
    thin_book_depth_share: float = 0.5

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Network:
    """One network an exchange moves an asset over (docs/design.md, "Transfer routes").
    Codes are upper-cased and contracts lower-cased once, here, so comparisons ignore case."""

    network: str
    withdraw_fee: float  # in units of the asset
    withdraw_enabled: bool
    deposit_enabled: bool
    contract: str | None = None  # the token's contract address; None: unknown or native

    @classmethod
    def of(
        cls,
        network: str,
        withdraw_fee: float,
        withdraw_enabled: bool,
        deposit_enabled: bool,
        contract: str | None = None,
    ) -> Network:
        code = network.strip().upper()
        address = (contract or "").strip().lower() or None
        return cls(code, float(withdraw_fee), bool(withdraw_enabled), bool(deposit_enabled), address)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Per-exchange taker fees (bps) and per-(exchange, asset) withdrawal terms."""

    taker_fee_bps: dict[str, float] = field(default_factory=dict)
    default_taker_fee_bps: float = 10.0
    # withdraw_fees[exchange][asset] = fee in asset units: the flat fee, for a pair without
    # networks (rule 3 of "Transfer routes").
    withdraw_fees: dict[str, dict[str, float]] = field(default_factory=dict)
    # (exchange, asset) pairs whose withdrawals are known to be disabled (flat data).
    withdrawals_disabled: frozenset[tuple[str, str]] = frozenset()
    # networks[exchange][asset]: never an empty tuple (no networks: the pair is absent).
    networks: dict[str, dict[str, tuple[Network, ...]]] = field(default_factory=dict)

    def taker_bps(self, exchange: str) -> float:
        return self.taker_fee_bps.get(exchange, self.default_taker_fee_bps)

    def withdraw_fee(self, exchange: str, asset: str) -> float | None:
        """The flat fee in asset units, or None when unknown."""
        return self.withdraw_fees.get(exchange, {}).get(asset)

    def networks_of(self, exchange: str, asset: str) -> tuple[Network, ...]:
        return self.networks.get(exchange, {}).get(asset, ())


@dataclass(slots=True)
class BookEvidence:
    """Health of one book an opportunity came from, so a user can see why it was trusted."""

    exchange: str
    symbol: str
    ts_event: int
    ts_ingest: int
    lag_ms: int
    seq_id: Any = None
    checksum_ok: Any = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BookEvidence:
        """The inverse of `as_dict` (a sharded scan's results cross processes as JSON)."""
        return cls(**data)


@dataclass(slots=True)
class Opportunity:
    """One detected opportunity, with the fields of docs/design.md, "Canonical model"."""

    type: OpportunityType
    symbol: str
    buy_exchange: str
    sell_exchange: str
    buy_vwap: float
    sell_vwap: float
    gross_edge_pct: float
    net_edge_pct: float
    expected_profit_usdt: float
    available_qty: float
    risk_flag: str
    ts_detected: int
    fees_pct: float
    slippage_pct: float
    withdraw_pct: float
    optimal_qty: float
    optimal_profit_usdt: float
    # Triangular only: the exchange and the asset cycle, e.g. ["USDT", "BTC", "ETH", "USDT"].
    exchange: str | None = None
    path: list[str] | None = None
    # Triangular only: the price each leg was executed at, in path order.
    leg_prices: list[float] | None = None
    # Every risk code that applied; risk_flag is the most serious of them.
    risk_flags: list[str] = field(default_factory=list)
    evidence: list[BookEvidence] = field(default_factory=list)
    # Spatial only: the network the base asset moves over (None: no known route).
    transfer_network: str | None = None
    # Triangular only: how many profitable cycles share this one's cause (itself included),
    # and the cause, "X>Y@MARKET": the leg furthest above its fair rate.
    variants: int | None = None
    cause: str | None = None

    @property
    def episode_key(self) -> str:
        """Identity of the episode this opportunity belongs to (see arbitrage.models)."""
        if self.type == "triangular":
            # One episode per cause: the best cycle of a group may change from scan to scan.
            return f"triangular|{self.exchange}|{self.cause or '>'.join(self.path or [])}"
        return f"spatial|{self.symbol}|{self.buy_exchange}|{self.sell_exchange}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Opportunity:
        """The inverse of `as_dict`: `Opportunity.from_dict(o.as_dict()) == o`, also after a
        JSON round trip (floats print and parse back exactly)."""
        fields = dict(data)
        fields["evidence"] = [BookEvidence.from_dict(item) for item in fields.get("evidence", ())]
        return cls(**fields)


@dataclass(slots=True)
class ExchangeBookCounts:
    """How one exchange's books fared in a scan's slice."""

    used: int = 0
    stale: int = 0
    unhealthy: int = 0
    future: int = 0  # stamped ahead of the scan's clock beyond stale_after_sec

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(slots=True)
class ScanResult:
    """What one scan found (opportunities, best net edge first) and how its slice looked."""

    opportunities: list[Opportunity]
    books_total: int
    books_used: int
    skipped_stale: int
    skipped_unhealthy: int
    # Stamped more than stale_after_sec ahead of the scan's now: a clock not to trust.
    skipped_future: int = 0
    # A book listed again for the same (exchange, symbol): the newest ts_ingest is kept.
    skipped_duplicate: int = 0
    per_exchange: dict[str, ExchangeBookCounts] = field(default_factory=dict)
    spatial_ms: float = 0.0
    triangular_ms: float = 0.0
