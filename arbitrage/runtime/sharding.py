"""A scan split into shards that run in separate processes, then merged.

Shard `i` of `n` reads every stored value in one round trip (as an unsharded scan does) but
decodes only the values its share of the work needs, chosen by their key (exchange,
symbol) before any JSON is parsed (decoding is most of a read's cost):

- spatial for the symbols with `crc32(symbol) % n == i`: every book of those symbols;
- triangular for the exchanges with `crc32(exchange) % n == i`: every book of those exchanges;
- the `QUOTE-USDT` books of every exchange for the other quotes of its symbols (spatial
  converts the target notional at their median mid), and on demand any other
  `ASSET-USDT` books the engine's `UsdtMids` asks for (the fallback price of an asset an
  exchange does not connect to USDT, in triangular).

Why the union of the shards equals an unsharded `scan_books` of the same slice and `now`:
spatial looks at one symbol's books at a time, triangular at one exchange's, and both at
the USDT mids, which every shard computes by the same `UsdtMids` over the same books of the
whole slice. The split is a function of the key alone, so shards agree on it even though
each reads at its own instant. `find_spatial` prunes with the cheapest taker fee
among the exchanges it is given: a shard gives it fewer, but always every exchange quoting
the symbols at hand, so the bound stays a lower bound on each real pair's fees and prunes
nothing a whole scan would report. Books keep the store's order, so ties break alike.

The slice statistics (books, used, corrupt) of a shard cover its symbols' books only: the
shards' counts add up to the whole slice's, each book counted once.

Nothing here touches Django or Celery: `arbitrage.tasks` runs the shards and the merge.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from arbitrage.engine.fees import fees_from_json, fees_to_json
from arbitrage.engine.scan import UsdtMids, sort_opportunities
from arbitrage.engine.spatial import find_spatial
from arbitrage.engine.triangular import find_triangular
from arbitrage.engine.types import ExchangeBookCounts, FeeSchedule, Opportunity, ScanParams
from exchanges.store import BookStore, RawBooks, StoreUnavailable
from kernel.book import OrderBookSnapshot, book_state

logger = logging.getLogger(__name__)

BookKey = tuple[str, str]  # (exchange, symbol)


def shard_of(name: str, shards: int) -> int:
    """The shard owning a symbol (spatial) or an exchange (triangular): stable across
    processes and runs, unlike hash() of a str."""
    return zlib.crc32(name.encode("utf-8", "replace")) % shards


class IncompleteScan(Exception):
    """A sharded scan lacks a shard's result: recording it would close episodes that the
    missing shard would have kept open, so it is dropped whole."""


@dataclass(slots=True)
class ShardResult:
    """What one shard found, and the slice statistics of its symbols' books."""

    shard: int
    shards: int
    opportunities: list[Opportunity] = field(default_factory=list)
    books_total: int = 0
    books_used: int = 0
    corrupt_books: int = 0
    # Its symbols' books per exchange: used, stale, unhealthy (ExchangeBookCounts.as_dict()).
    per_exchange: dict[str, dict[str, int]] = field(default_factory=dict)
    hash_size: int = 0  # values in the store
    decoded: int = 0  # values this shard parsed
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShardResult:
        fields = dict(data)
        fields["opportunities"] = [Opportunity.from_dict(item) for item in fields.get("opportunities", ())]
        return cls(**fields)


@dataclass(slots=True)
class MergedScan:
    opportunities: list[Opportunity]
    books_total: int
    books_used: int
    corrupt_books: int
    per_exchange: dict[str, ExchangeBookCounts]


class _ShardBooks:
    """The stored books one shard needs, parsed once each, in the store's order."""

    def __init__(self, raw: RawBooks, shard: int, shards: int) -> None:
        self.raw = raw
        self.shard = shard
        self.shards = shards
        self.decoded = 0
        self.corrupt_own = 0
        self._books: dict[BookKey, OrderBookSnapshot | None] = {}  # None: corrupt
        self._exchanges: dict[str, int] = {}  # every exchange of the store -> its shard
        self.symbols: dict[str, int] = {}  # every symbol of the store -> its shard

    def select(self) -> tuple[list[OrderBookSnapshot], list[OrderBookSnapshot]]:
        """Parse this shard's values: (its symbols' books, its exchanges' books)."""
        exchanges, symbols, shard, shards = self._exchanges, self.symbols, self.shard, self.shards
        wanted: list[BookKey] = []
        own_symbol: set[BookKey] = set()
        own_exchange: set[BookKey] = set()
        for key in self.raw:
            exchange, symbol = key
            by_symbol = symbols.get(symbol)
            if by_symbol is None:
                by_symbol = symbols[symbol] = shard_of(symbol, shards)
            by_exchange = exchanges.get(exchange)
            if by_exchange is None:
                by_exchange = exchanges[exchange] = shard_of(exchange, shards)
            if by_symbol == shard:
                own_symbol.add(key)
                wanted.append(key)
                if by_exchange == shard:
                    own_exchange.add(key)
            elif by_exchange == shard:
                own_exchange.add(key)
                wanted.append(key)
        # The USDT books that price this shard's other quotes: parsed in the same pass, as
        # the engine will ask for them (each decode call has a fixed cost of its own).
        quotes = {symbol.rpartition("-")[2] for symbol, owner in symbols.items() if owner == shard} - {"USDT"}
        pricing = [
            key
            for quote in quotes
            for exchange in exchanges
            if (key := (exchange, f"{quote}-USDT")) in self.raw and key not in own_symbol and key not in own_exchange
        ]
        self._parse(wanted + pricing)
        self.corrupt_own = sum(1 for key in own_symbol if self._books[key] is None)
        spatial = [book for key in wanted if key in own_symbol and (book := self._books[key]) is not None]
        triangular = [book for key in wanted if key in own_exchange and (book := self._books[key]) is not None]
        return spatial, triangular

    def symbol_books(self, symbol: str) -> list[OrderBookSnapshot]:
        """Every stored book of `symbol`, parsing those not parsed yet (the store's order is
        not kept here: the USDT mid is a median)."""
        keys = [key for exchange in self._exchanges if (key := (exchange, symbol)) in self.raw]
        self._parse([key for key in keys if key not in self._books])
        return [book for key in keys if (book := self._books[key]) is not None]

    def _parse(self, keys: Sequence[BookKey]) -> None:
        if not keys:
            return
        parsed = self.raw.decode(keys)
        self.decoded += len(keys)
        books = self._books
        for key in keys:
            books[key] = None
        for book in parsed.books:
            books[book.key] = book  # the store checks a value is the book its key names


class _UsableBySymbol(Mapping[str, Sequence[OrderBookSnapshot]]):
    """Symbol -> its usable books across the whole slice, parsed when first looked up:
    what `UsdtMids` needs to price a quote asset exactly as an unsharded scan does."""

    def __init__(self, books: _ShardBooks, now_ms: int, stale_after_sec: float) -> None:
        self._books = books
        self._now_ms = now_ms
        self._stale_after_sec = stale_after_sec

    def __getitem__(self, symbol: str) -> Sequence[OrderBookSnapshot]:
        if symbol not in self._books.symbols:
            raise KeyError(symbol)
        now, stale = self._now_ms, self._stale_after_sec
        return [book for book in self._books.symbol_books(symbol) if book_state(book, now, stale) == "fresh"]

    def __iter__(self) -> Iterator[str]:
        return iter(self._books.symbols)

    def __len__(self) -> int:
        return len(self._books.symbols)


def scan_shard(
    raw: RawBooks, shard: int, shards: int, now_ms: int, params: ScanParams, fees: FeeSchedule
) -> ShardResult:
    """Shard `shard` of `shards` of the scan of `raw` at `now_ms` (see the module doc)."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not one of 0..{shards - 1}")
    books = _ShardBooks(raw, shard, shards)
    spatial_books, triangular_books = books.select()
    stale_after = params.stale_after_sec
    counts: dict[str, ExchangeBookCounts] = {}
    by_symbol: dict[str, list[OrderBookSnapshot]] = {}
    for book in spatial_books:
        state = book_state(book, now_ms, stale_after)
        count = counts.setdefault(book.exchange, ExchangeBookCounts())
        if state == "fresh":
            count.used += 1
            by_symbol.setdefault(book.symbol, []).append(book)
        elif state == "stale":
            count.stale += 1
        elif state == "future":
            count.future += 1
        else:
            count.unhealthy += 1
    by_exchange: dict[str, list[OrderBookSnapshot]] = {}
    for book in triangular_books:
        if book_state(book, now_ms, stale_after) == "fresh":
            by_exchange.setdefault(book.exchange, []).append(book)

    usdt_mids = UsdtMids(_UsableBySymbol(books, now_ms, stale_after))
    found = find_spatial(by_symbol, usdt_mids, params, fees, now_ms)
    found += find_triangular(by_exchange, usdt_mids, params, fees, now_ms)
    return ShardResult(
        shard=shard,
        shards=shards,
        opportunities=found,
        books_total=len(spatial_books),
        books_used=sum(count.used for count in counts.values()),
        corrupt_books=books.corrupt_own,
        per_exchange={exchange: count.as_dict() for exchange, count in counts.items()},
        hash_size=len(raw),
        decoded=books.decoded,
    )


def run_shard(
    store: BookStore, shard: int, shards: int, now_ms: int, params: ScanParams, fees: FeeSchedule
) -> ShardResult:
    """One shard against the live store. Never raises: a failure is the result's `error`,
    which the merge reports as the shard that is missing."""
    try:
        return scan_shard(store.read_raw(), shard, shards, now_ms, params, fees)
    except StoreUnavailable as exc:
        logger.error("scan shard failed: book store unavailable", extra={"shard": shard, "error": str(exc)})
        return ShardResult(shard, shards, error=str(exc))
    except Exception as exc:  # a bug must cost this scan, not leave the merge waiting
        logger.exception("scan shard failed", extra={"shard": shard, "shards": shards})
        return ShardResult(shard, shards, error=f"{type(exc).__name__}: {exc}")


def merge_shards(results: Sequence[ShardResult], shards: int) -> MergedScan:
    """The whole scan from its shards' results: the union, best first, as `scan_books`
    orders it. Raises IncompleteScan, naming the shards at fault, unless every shard of
    0..shards-1 answered exactly once without an error."""
    seen: dict[int, ShardResult] = {}
    problems: list[str] = []
    for result in results:
        if result.shards != shards or not 0 <= result.shard < shards:
            problems.append(f"a result for shard {result.shard} of {result.shards} in a scan of {shards}")
        elif result.shard in seen:
            problems.append(f"shard {result.shard} answered twice")
        else:
            seen[result.shard] = result
    for shard in range(shards):
        answer = seen.get(shard)
        if answer is None:
            problems.append(f"shard {shard} of {shards} is missing")
        elif answer.error is not None:
            problems.append(f"shard {shard} of {shards} failed: {answer.error}")
    if problems:
        raise IncompleteScan("; ".join(problems))
    parts = list(seen.values())
    per_exchange: dict[str, ExchangeBookCounts] = {}
    for part in parts:
        for exchange, count in part.per_exchange.items():
            total = per_exchange.setdefault(exchange, ExchangeBookCounts())
            total.used += count["used"]
            total.stale += count["stale"]
            total.unhealthy += count["unhealthy"]
            total.future += count["future"]
    return MergedScan(
        opportunities=sort_opportunities(item for part in parts for item in part.opportunities),
        books_total=sum(part.books_total for part in parts),
        books_used=sum(part.books_used for part in parts),
        corrupt_books=sum(part.corrupt_books for part in parts),
        per_exchange=per_exchange,
    )


def config_to_wire(params: ScanParams, fees: FeeSchedule) -> dict[str, Any]:
    """The settings of one scan as JSON, sent with every shard so that all of them (and
    the merge's audit snapshot) use the same ones even if an admin edits them meanwhile."""
    return {"params": params.as_dict(), "fees": fees_to_json(fees)}


def config_from_wire(data: Mapping[str, Any]) -> tuple[ScanParams, FeeSchedule]:
    return ScanParams(**data["params"]), fees_from_json(data["fees"])
