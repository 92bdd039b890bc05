"""How both book stores keep books and feed messages, and how stored values become books.

A book is stored as its canonical JSON (`OrderBookSnapshot.to_json()`) under the field
`exchange|symbol`. Reading decodes and validates every value once, here: a value that
fails is reported in `BookSlice.corrupt` and logged, and never hides the valid books.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from arbitrage.engine.book import BookError, parse_book_json

from .base import BookSlice, CorruptBook

logger = logging.getLogger(__name__)


def book_field(exchange: str, symbol: str) -> str:
    return f"{exchange}|{symbol}"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic GC while a slice is decoded, then file the new objects as old.

    Decoding ~7,000 books allocates ~300,000 lists. With the collector running, every 700
    allocations start a young collection that walks them and the survivors trigger older
    ones: the decode took 3-4x longer in a populated process (~280 ms against ~75). Merely
    held, the collector's first pass on resuming still walks the whole live slice (~30 ms).
    JSON values form no reference cycles, so the new objects go straight to the oldest
    generation (gc.freeze() + gc.unfreeze(): two list splices) and refcounting frees them
    when the scan drops them. Young objects of other threads move along and wait for the
    next full collection: a delay, not a leak. A process that froze objects on purpose
    (before forking) is left alone.
    """
    if not gc.isenabled():  # held by someone else (an outer scan): leave it to them
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()


def decode_books(items: Iterable[tuple[str | bytes, bytes | str]]) -> BookSlice:
    """Validate `(field, value)` pairs into a slice; corrupt values are reported, not raised."""
    books = []
    corrupt = []
    with gc_paused():
        for field, value in items:
            key = field.decode("utf-8", "replace") if isinstance(field, bytes) else field
            try:
                book = parse_book_json(value)
            except BookError as exc:
                corrupt.append(CorruptBook(key, str(exc)))
                continue
            # A book under another book's field would appear twice in the slice.
            actual = book_field(book.exchange, book.symbol)
            if actual != key:
                corrupt.append(CorruptBook(key, f"stored under the wrong key: the value is the book {actual}"))
                continue
            books.append(book)
    for item in corrupt:
        logger.warning("corrupt book skipped", extra={"key": item.key, "error": item.error})
    return BookSlice(books=books, corrupt=corrupt)


def unhealthy_json(value: bytes) -> bytes:
    """The stored value with `is_healthy` false; a value that is not a JSON object is
    returned unchanged (it is corrupt, and every read already skips and reports it)."""
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError:
        return value
    if not isinstance(raw, dict) or raw.get("is_healthy") is False:
        return value
    raw["is_healthy"] = False
    return orjson.dumps(raw)


def encode_message(message: dict[str, Any]) -> bytes:
    """A feed message as JSON; raises TypeError for a value JSON cannot carry."""
    return orjson.dumps(message)


def decode_messages(payloads: Iterable[tuple[str, bytes | str | None]]) -> list[dict[str, Any]]:
    """Feed payloads (with an id for the log) back into messages, skipping junk."""
    messages = []
    for entry_id, payload in payloads:
        try:
            message = orjson.loads(payload) if payload is not None else None
        except orjson.JSONDecodeError as exc:
            message, error = None, f"invalid JSON ({exc})"
        else:
            error = "expected a JSON object"
        if isinstance(message, dict):
            messages.append(message)
        else:
            logger.warning("corrupt feed message skipped", extra={"key": entry_id, "error": error})
    return messages
