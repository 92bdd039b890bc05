"""Per-scan diffs of the opportunity feed, for clients that ask for them.

A dashboard with thousands of rows does not need them all every 5 s: after one full scan
message it can take `{"type": "opportunities_diff", "ts": T, "since": S, "added": [...],
"changed": [...], "removed": [key, ...]}`, the items that appeared, changed or went between
the scan it holds (S) and scan T, keyed by each item's `key` (its episode). An item counts
as changed when anything but its detection time and book evidence changed: those move
every scan and would make every row "changed".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

DIFF_TYPE = "opportunities_diff"
VOLATILE = frozenset({"ts_detected", "evidence"})

Keyed = dict[str, dict[str, Any]]


def keyed(items: Iterable[dict[str, Any]]) -> Keyed | None:
    """The items by key; None when one has none (a scan published by an older worker): no
    diff can be made from it, clients get the full message."""
    by_key: Keyed = {}
    for item in items:
        key = item.get("key")
        if not isinstance(key, str):
            return None
        by_key[key] = item
    return by_key


def _material(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in VOLATILE}


def changes(before: Keyed, after: Keyed) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(added, changed, removed keys) from `before` to `after`, in `after`'s order."""
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for key, item in after.items():
        old = before.get(key)
        if old is None:
            added.append(item)
        elif old is not item and _material(old) != _material(item):
            changed.append(item)
    removed = [key for key in before if key not in after]
    return added, changed, removed


def encode_diff(ts: int, since: int, before: Keyed, after: Keyed) -> str:
    added, changed, removed = changes(before, after)
    message = {"type": DIFF_TYPE, "ts": ts, "since": since, "added": added, "changed": changed, "removed": removed}
    return orjson.dumps(message).decode()
