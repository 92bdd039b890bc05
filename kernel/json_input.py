"""JSON from outside (request bodies, WebSocket frames), refused when it is built to hurt:
nested deeper than any real message, or carrying NUL characters (PostgreSQL cannot store
them). One reader, so every boundary refuses the same things with the same words."""

from __future__ import annotations

from typing import Any

import orjson

MAX_DEPTH = 32  # the deepest real input (a filter object inside a command) is 3


class JsonInputError(ValueError):
    """Why the text was refused, in words for the sender."""


class HostileJson(JsonInputError):
    """Valid JSON no honest client sends: too deep, or with NUL characters."""


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed value, or JsonInputError. orjson refuses nesting past 1024 levels without
    recursing; what it accepts is then checked against `max_depth`."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc).lower():
            raise HostileJson(f"JSON nested deeper than {max_depth} levels") from None
        raise JsonInputError(f"not valid JSON: {exc}") from None
    _check(value, max_depth)
    return value


def _check(value: Any, max_depth: int) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise HostileJson("strings must not contain NUL characters (\\u0000)")
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            raise HostileJson(f"JSON nested deeper than {max_depth} levels")
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
