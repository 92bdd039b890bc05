"""How both book stores keep books, and how stored values become books.

A book is stored as its canonical JSON (`OrderBookSnapshot.to_json()`) under the field
`exchange|symbol`. Reading decodes and validates every value once, here: a value that
fails is reported in `BookSlice.corrupt` and logged, and never hides the valid books.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from kernel.book import BookError, parse_book_json
from kernel.gc_tuning import gc_paused
from kernel.text import name_of
from kernel.throttle import Throttle

from .base import BookKey, BookSlice, CorruptBook

logger = logging.getLogger(__name__)

# A corrupt value is read by every scan until someone fixes it: one line per key a minute.
CORRUPT_LOG_EVERY_SEC = 60.0
_corrupt_logs = Throttle(CORRUPT_LOG_EVERY_SEC)


def book_field(exchange: str, symbol: str) -> str:
    return f"{exchange}|{symbol}"


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
        held = _corrupt_logs.allow(item.key)
        if held is not None:
            logger.warning(
                f"corrupt book skipped: {name_of(item.key, 80)}: {item.error}",
                extra={"key": item.key, "error": item.error, "repeats_not_logged": held},
            )
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


class RawBooks:
    """Every stored value as one read found it, not decoded yet.

    Decoding is most of a read's cost, so a reader that needs only some books (a shard of
    a scan) picks them by key first and decodes just those; `decode_all()` is what
    `read_all()` returns. Keys are `(exchange, symbol)` as the store's field names say
    (a field that is not `exchange|symbol` keeps its whole name as the exchange and an
    empty symbol: decoding it reports it as corrupt).
    """

    def __init__(self, values: Mapping[Any, Any]) -> None:
        self._values = values  # field (str or bytes) -> value (bytes or str)
        self._fields: dict[BookKey, list[Any]] | None = None

    def __len__(self) -> int:
        return len(self._values)

    def value_bytes(self) -> int:
        """The size of every stored value together."""
        return sum(len(value) for value in self._values.values())

    def __iter__(self) -> Iterator[BookKey]:
        """The key of every stored value, in the store's order."""
        return iter(self._by_key())

    def __contains__(self, key: object) -> bool:
        return key in self._by_key()

    def decode(self, keys: Iterable[BookKey]) -> BookSlice:
        """The books under `keys` (absent keys are left out), in the order given."""
        fields = self._by_key()
        values = self._values
        chosen = [name for key in keys for name in fields.get(key, ())]
        return decode_books((name, values[name]) for name in chosen)

    def decode_all(self) -> BookSlice:
        return decode_books(self._values.items())

    def _by_key(self) -> dict[BookKey, list[Any]]:
        if self._fields is None:
            fields: dict[BookKey, list[Any]] = {}
            for name in self._values:
                text = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
                # Exchange ids never contain '|' (kernel.ids): the first one ends them.
                exchange, _, symbol = text.partition("|")
                # Two undecodable fields can read alike: both stay, both get decoded.
                fields.setdefault((exchange, symbol), []).append(name)
            self._fields = fields
        return self._fields
