"""Book integrity: what state each book is in, what a ccxt error means for it, and the
watchdog that notices silence ccxt never reports.

A book is `syncing` until its first snapshot is applied, `live` while ccxt keeps it in
sync, and `unhealthy` from the moment it is known wrong (a sequence gap, a checksum
mismatch, a crossed book, a dead connection) until a fresh snapshot makes it live again.
Only live books are written to the store; the transition to unhealthy is written at once
(`BookSink.mark_unhealthy`) so the scan stops using the stored copy.

Silence has two scales. A batch of books that share a subscription (and usually a
connection) with no update at all for `silence_sec` is presumed dead: ccxt swallows a
malformed frame and then hears nothing more until its keepalive fires, minutes later on
binance. One book with no update for `book_silence_sec` while the rest of its batch moves
is resynced alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
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

    def check_silence(self, now: float, silence_sec: float, book_silence_sec: float) -> Trouble:
        """The watchdog: a batch silent as a whole, or single books silent within it."""
        trouble = Trouble()
        if now - max(self.last_update, self.subscribed_at) > silence_sec:
            trouble.batch_silent = True
            return trouble
        for book in self.books:
            # a live book since its last update; one syncing or unhealthy since it became so
            last = book.received_at if book.state == "live" else book.state_since
            if now - max(last, self.subscribed_at) > book_silence_sec:
                trouble.silent_books.append(book)
        return trouble


@dataclass(slots=True)
class ResyncPacer:
    """Pauses between resubscriptions of one batch: none after a first failure, then growing
    from `initial` to `cap` while failures keep coming, so a feed broken for good (or a
    snapshot endpoint answering 429) is not hammered. A batch without failures for
    `calm_after` seconds starts over."""

    initial: float
    cap: float
    calm_after: float = 60.0
    _streak: int = 0
    _last: float = -1e18

    def next_delay(self, now: float) -> float:
        if now - self._last > self.calm_after:
            self._streak = 0
        self._last = now
        delay = 0.0 if self._streak == 0 else min(self.cap, self.initial * 2 ** (self._streak - 1))
        self._streak = min(self._streak + 1, 32)
        return delay
