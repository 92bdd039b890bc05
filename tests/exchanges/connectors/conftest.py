"""Fixtures for connector tests: the real in-memory book store to write into."""

from __future__ import annotations

import pytest

from exchanges.store import MemoryBookStore


@pytest.fixture
def store() -> MemoryBookStore:
    return MemoryBookStore()
