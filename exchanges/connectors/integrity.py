"""Book integrity: what state each book is in, what a ccxt error means for it, and the
watchdog that notices silence ccxt never reports.

A book is `syncing` until its first snapshot is applied, `live` while ccxt keeps it in
sync, and `unhealthy` from the moment it is known wrong (a sequence gap, a checksum
mismatch, a crossed book, a dead connection) until a fresh snapshot makes it live again.
Only live books are written to the store; the transition to unhealthy is written at once
(`BookSink.mark_unhealthy`) so the scan stops using the stored copy.

Silence has two scales, each measured against what is usual for the feed, so a stall is
noticed in seconds, not tens of seconds. A batch of books that share a subscription (and
usually a connection) with no update at all for several times its usual gap between
updates is presumed dead: ccxt swallows a malformed frame and then hears nothing more
until its keepalive fires, minutes later on binance. One book silent for many times its
own usual gap while the rest of its batch moves is resynced alone. `UsualGap` learns the
gaps; ConnectorSettings turns them into limits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ccxt.base.errors import (
    ArgumentsRequired,
    AuthenticationError,
    BadSymbol,
    ChecksumError,
    InvalidNonce,
    NotSupported,
)

from exchanges.connectors.symbols import MarketRef

BookState = Literal["syncing", "live", "unhealthy"]
SilenceLimit = Callable[[float | None], float]  # the usual gap (None: unknown) -> the limit
FailureKind = Literal["sequence", "checksum", "invalid", "silence", "snapshot"]


class InvalidBook(ValueError):
    """ccxt's book for a symbol fails our checks (crossed, a non-positive level)."""


# Errors that no retry fixes: a wrong symbol, missing credentials, a method the exchange
# lacks. They stop the connector; the runner logs them and retries slowly.
FATAL_ERRORS: tuple[type[BaseException], ...] = (BadSymbol, AuthenticationError, NotSupported, ArgumentsRequired)


def failure_kind(error: BaseException) -> FailureKind:
    """What a ccxt rejection of one book's watch means."""
    if isinstance(error, ChecksumError):
        return "checksum"
    if isinstance(error, InvalidNonce):
        return "sequence"
    if isinstance(error, InvalidBook):
        return "invalid"
    # Anything else aimed at one book is its snapshot failing (HTTP 429/5xx, a timeout)
    # after ccxt's own retries.
    return "snapshot"


@dataclass(slots=True)
class UsualGap:
    """The usual time between two updates: an exponentially weighted mean, known once a
    few updates were seen (None before). One long gap (a quiet minute) moves it only a
    little, so it still says what is normal for the feed."""

    weight: float = 0.1
    needed: int = 20  # updates before the mean says anything
    mean: float = 0.0
    seen: int = 0
    last: float | None = None

    def update(self, now: float) -> None:
        if self.last is not None:
            gap = now - self.last
            self.mean = gap if self.seen == 0 else self.mean + self.weight * (gap - self.mean)
            self.seen += 1
        self.last = now

    @property
    def value(self) -> float | None:
        return self.mean if self.seen >= self.needed else None


@dataclass(slots=True)
class TrackedBook:
    market: MarketRef
    batch: int
    state: BookState = "syncing"
    book: Any = None  # the ccxt OrderBook last resolved for this symbol
    message_hash: str | None = None
    url: str | None = None  # the websocket that feeds it
    received_ms: int = 0  # wall clock of the last update: the book's ts_ingest
    received_at: float = 0.0  # monotonic clock of the last update, for the watchdog
    state_since: float = 0.0  # monotonic clock of the last state change
    published: bool = False  # a copy is in the store (so marking it unhealthy means something)
    reason: str = ""
    usual_gap: UsualGap = field(default_factory=lambda: UsualGap(needed=10))

    def enter(self, state: BookState, now: float, reason: str = "") -> None:
        self.state = state
        self.state_since = now
        self.reason = reason


@dataclass(slots=True)
class Trouble:
    """What woke a batch up: books found wrong, or its connection failing."""

    failures: dict[str, tuple[FailureKind, BaseException]] = field(default_factory=dict)  # by unified symbol
    connection: BaseException | None = None
    silent_books: list[TrackedBook] = field(default_factory=list)
    batch_silent: bool = False

    def __bool__(self) -> bool:
        return bool(self.failures or self.connection is not None or self.silent_books or self.batch_silent)


class BatchHealth:
    """The books of one subscription batch and the trouble reported for them since the last
    look. Reports come from ccxt callbacks (synchronous); the batch's task waits on them."""

    def __init__(self, index: int, books: Iterable[TrackedBook]) -> None:
        self.index = index
        self.books = list(books)
        self.by_unified = {b.market.unified: b for b in self.books}
        self.last_update = 0.0  # monotonic clock of the last update of any book here
        self.usual_gap = UsualGap()
        self.subscribed_at = 0.0
        self._trouble = Trouble()
        self._event = asyncio.Event()

    @property
    def urls(self) -> set[str]:
        return {b.url for b in self.books if b.url is not None}

    def report_failure(self, book: TrackedBook, kind: FailureKind, error: BaseException) -> None:
        self._trouble.failures[book.market.unified] = (kind, error)
        self._event.set()

    def report_connection(self, error: BaseException) -> None:
        self._trouble.connection = error
        self._event.set()

    @property
    def settled(self) -> bool:
        """Every book in sync, or trouble to deal with: nothing more to wait for."""
        return bool(self._trouble) or all(b.state == "live" for b in self.books)

    def clear_connection(self) -> None:
        """Forget connection reports (they were about a connection already replaced); book
        failures stay, to be marked and counted."""
        self._trouble.connection = None
        if not self._trouble:
            self._event.clear()

    def take(self) -> Trouble:
        trouble, self._trouble = self._trouble, Trouble()
        self._event.clear()
        return trouble

    async def wait(self, timeout: float) -> bool:
        """True when trouble was reported within `timeout` seconds."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def note_update(self, book: TrackedBook, now: float) -> None:
        self.last_update = now
        self.usual_gap.update(now)
        book.usual_gap.update(now)

    def check_silence(self, now: float, batch_limit: SilenceLimit, book_limit: SilenceLimit) -> Trouble:
        """The watchdog: a batch silent as a whole, or single books silent within it.
        `batch_limit` and `book_limit` say how long silence may last given the usual gap
        (ConnectorSettings.batch_silence_limit and book_silence_limit)."""
        trouble = Trouble()
        if now - max(self.last_update, self.subscribed_at) > batch_limit(self.usual_gap.value):
            trouble.batch_silent = True
            return trouble
        for book in self.books:
            # a live book since its last update; one syncing or unhealthy since it became so
            last = book.received_at if book.state == "live" else book.state_since
            if now - max(last, self.subscribed_at) > book_limit(book.usual_gap.value):
                trouble.silent_books.append(book)
        return trouble

    def shortest_limit(self, batch_limit: SilenceLimit, book_limit: SilenceLimit) -> float:
        """The soonest any silence here could become trouble: how often to look."""
        return min(batch_limit(self.usual_gap.value), *(book_limit(b.usual_gap.value) for b in self.books))


@dataclass(slots=True)
class ResyncPacer:
    """Pauses between resubscriptions of one batch: none after a first failure, then growing
    from `initial` to `cap` while failures keep coming, so a feed broken for good (or a
    snapshot endpoint answering 429) is not hammered. One good resync starts it over: the
    next gap, however soon, is resynced at once."""

    initial: float
    cap: float
    _streak: int = 0

    def next_delay(self) -> float:
        delay = 0.0 if self._streak == 0 else min(self.cap, self.initial * 2 ** (self._streak - 1))
        self._streak = min(self._streak + 1, 32)
        return delay

    def recovered(self) -> None:
        self._streak = 0
