"""Cycle search on a weighted graph of assets (pure functions, no market knowledge):
whether a negative cycle exists (Bellman-Ford), and every light simple cycle of 3 or 4
edges. arbitrage.engine.triangular feeds them -log(rate) weights."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

Pair = tuple[str, str]


def has_negative_cycle(weights: Mapping[Pair, float], shift: float = 0.0) -> bool:
    """Whether the graph with each edge weighing `weights[edge] + shift` has a negative
    cycle: Bellman-Ford from a virtual source joined to every node at weight 0."""
    if not weights or min(weights.values()) + shift >= 0.0:
        return False  # distances all stay 0: the first pass would relax nothing
    index: dict[str, int] = {}
    for pair in weights:
        for asset in pair:
            index.setdefault(asset, len(index))
    adjacency: list[list[tuple[int, float]]] = [[] for _ in index]
    for (src, dst), w in weights.items():
        adjacency[index[src]].append((index[dst], w + shift))
    count = len(index)
    dist = [0.0] * count
    parent = [-1] * count
    # From all-zero distances only a negative edge relaxes anything.
    active = [node for node, edges in enumerate(adjacency) if any(w < 0.0 for _, w in edges)]
    for _ in range(count + 1):
        changed: list[int] = []
        seen: set[int] = set()
        for node in active:
            for other, w in adjacency[node]:
                candidate = dist[node] + w
                if candidate < dist[other]:
                    dist[other] = candidate
                    parent[other] = node
                    if other not in seen:
                        seen.add(other)
                        changed.append(other)
        if not changed:
            return False
        if _predecessors_close_a_cycle(parent, changed):
            return True
        active = changed
    return True


def _predecessors_close_a_cycle(parent: list[int], starts: Iterable[int]) -> bool:
    """A cycle in Bellman-Ford's predecessor graph is a negative cycle: stop early."""
    mark = [-1] * len(parent)
    for start in starts:
        node = start
        while node != -1 and mark[node] == -1:
            mark[node] = start
            node = parent[node]
        if node != -1 and mark[node] == start:
            return True
    return False


def short_cycles(weights: Mapping[Pair, float], limit: float = 0.0) -> list[tuple[str, ...]]:
    """Every simple cycle of 3 or 4 edges whose weights sum to at most `limit` (>= 0), each
    exactly once, as its nodes in order from the tail of its lowest-ranked anchor edge.

    Anchors are the edges of weight <= limit / 3: a 3-cycle within the limit has one (its
    lightest edge), and so has a 4-cycle (its lightest edge is <= limit / 4).
    """
    out: dict[str, dict[str, float]] = {}
    lightest_into: dict[str, float] = {}
    for (src, dst), w in weights.items():
        out.setdefault(src, {})[dst] = w
        lightest_into[dst] = min(lightest_into.get(dst, math.inf), w)
    anchors = sorted(pair for pair, w in weights.items() if w <= limit / 3.0)
    if not anchors:
        return []
    lightest = min(weights.values())
    rank = {pair: i for i, pair in enumerate(anchors)}
    none: dict[str, float] = {}

    def usable(src: str, dst: str, anchor: int) -> bool:
        # A cycle through a lower-ranked anchor is found from that anchor instead.
        return rank.get((src, dst), anchor + 1) > anchor

    cycles: list[tuple[str, ...]] = []
    for i, (u, v) in enumerate(anchors):
        if u not in lightest_into:
            continue  # nothing leads back to u
        w0 = weights[(u, v)]
        for x, w1 in out.get(v, none).items():
            if x == u or not usable(v, x, i):
                continue
            partial = w0 + w1
            w2 = out.get(x, none).get(u)
            if w2 is not None and partial + w2 <= limit and usable(x, u, i):
                cycles.append((u, v, x))
            if partial + lightest + lightest_into[u] > limit:
                continue  # no two more edges can close a 4-cycle within the limit
            for y, w2 in out.get(x, none).items():
                if y in (u, v) or not usable(x, y, i):
                    continue
                w3 = out.get(y, none).get(u)
                if w3 is not None and partial + w2 + w3 <= limit and usable(y, u, i):
                    cycles.append((u, v, x, y))
    return cycles
