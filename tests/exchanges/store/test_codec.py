"""The shared decoder's handling of the garbage collector around a slice read."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from exchanges.store.codec import book_field, decode_books

from .test_contract import book

ITEMS = [(book_field(b.exchange, b.symbol), b.to_json()) for b in (book(f"x{i}", f"S{i}-USDT") for i in range(50))]


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if gc.get_freeze_count():
        gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


def test_a_running_collector_runs_again_after_a_read() -> None:
    gc.enable()
    assert len(decode_books([*ITEMS, ("x|BAD-ONE", b"{junk")]).books) == 50
    assert gc.isenabled()


def test_a_held_collector_stays_held() -> None:
    gc.disable()
    decode_books(ITEMS)
    assert not gc.isenabled()


def test_the_decoded_books_are_not_left_for_young_collections() -> None:
    gc.enable()
    book_slice = decode_books(ITEMS)
    young = {id(obj) for generation in (0, 1) for obj in gc.get_objects(generation)}
    levels = [level for b in book_slice.books for level in b.bids + b.asks]
    assert levels and not any(id(level) in young for level in levels)


def test_objects_frozen_on_purpose_stay_frozen() -> None:
    gc.enable()
    sentinel = [object()]  # a container the collector tracks
    gc.freeze()
    decode_books(ITEMS)
    # Unfreezing would move it back to the oldest generation. (The frozen count itself may
    # drop: a frozen object freed by its reference count leaves the permanent generation.)
    assert gc.get_freeze_count() > 0
    assert not any(obj is sentinel for obj in gc.get_objects(2))
