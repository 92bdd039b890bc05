"""The soak's verdict, from the database the stack wrote and what the observers saw: scans
missed, WebSocket messages lost, episode integrity, books healthy while frozen, memory."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from soak.market import Fault
from soak.observe import FeedLog, FrozenBooks, Memory, WebSocketClients

# A scan is due every interval; beat and the queue add a little jitter on top.
GAP_SLACK_SEC = 1.0
# Scans published this close to a client's (re)connection or drop may cross it in flight.
WINDOW_MARGIN_SEC = 1.0
FROZEN_LIMIT_SEC = 5.0
MEMORY_LIMIT = 0.05


@dataclass
class Gap:
    after_ms: int
    seconds: float
    fault: str  # the fault it overlaps, or ""
    beyond_fault: float  # seconds beyond one interval plus the fault's own duration

    @property
    def violation(self) -> bool:
        return self.beyond_fault > GAP_SLACK_SEC


@dataclass
class Verdict:
    minutes: float
    interval: float
    scans: int = 0
    degraded_scans: int = 0
    late_scans: int = 0
    gaps: list[Gap] = field(default_factory=list)
    missed_scans: int = 0
    integrity: dict[str, int] = field(default_factory=dict)
    times_seen_checked: int = 0
    audited_not_published: int = 0
    ws_expected: int = 0
    ws_lost: int = 0
    ws_drops: int = 0
    frozen_worst: tuple[str, float] = ("", 0.0)
    frozen_stretches: list[tuple[str, float, float]] = field(default_factory=list)
    frozen_samples: int = 0
    memory: dict[str, tuple[float, float, float | None]] = field(default_factory=dict)  # start, end MiB, growth
    faults: dict[str, int] = field(default_factory=dict)
    clients: int = 0
    tracebacks: dict[str, int] = field(default_factory=dict)  # per service log
    memory_over_time: list[tuple[float, dict[str, int]]] = field(default_factory=list)  # (minute, MiB per service)

    @property
    def passed(self) -> dict[str, bool]:
        growths = [growth for _, _, growth in self.memory.values() if growth is not None]
        return {
            "episode integrity": not any(self.integrity.values()),
            "no scan gap beyond a fault's duration": not any(g.violation for g in self.gaps),
            f"no book healthy but frozen over {FROZEN_LIMIT_SEC:g} s": self.frozen_worst[1] <= FROZEN_LIMIT_SEC,
            f"memory flat after warm-up (under {MEMORY_LIMIT:.0%})": all(g < MEMORY_LIMIT for g in growths),
        }


def _overlapping(start: float, end: float, faults: Sequence[Fault]) -> list[Fault]:
    return [f for f in faults if f.start < end and (f.end or end) > start]


def scan_gaps(ids: list[int], interval: float, faults: Sequence[Fault]) -> tuple[list[Gap], int]:
    """Every gap between consecutive scans longer than one interval plus slack; and how many
    scans were missed in all (a gap of 3 intervals missed 2)."""
    gaps, missed = [], 0
    for before, after in itertools.pairwise(ids):
        seconds = (after - before) / 1000
        if seconds <= interval + GAP_SLACK_SEC:
            continue
        missed += max(0, round(seconds / interval) - 1)
        overlapping = _overlapping(before / 1000, after / 1000, faults)
        fault_time = sum(f.duration for f in overlapping)
        names = ", ".join(sorted({f.name for f in overlapping}))
        gaps.append(Gap(before, seconds, names, seconds - interval - fault_time))
    return gaps, missed


def episode_integrity(conn: psycopg.Connection) -> dict[str, int]:
    checks = {
        "duplicate open episodes": "SELECT count(*) FROM (SELECT key FROM arbitrage_episode WHERE is_open "
        "GROUP BY key HAVING count(*) > 1) AS d",
        "last_seen before first_seen": "SELECT count(*) FROM arbitrage_episode WHERE last_seen < first_seen",
        "closed before first_seen": "SELECT count(*) FROM arbitrage_episode WHERE closed_at < first_seen",
        "open but closed_at set": "SELECT count(*) FROM arbitrage_episode WHERE is_open AND closed_at IS NOT NULL",
    }
    results = {}
    for name, sql in checks.items():
        row = conn.execute(sql).fetchone()
        results[name] = int(row[0]) if row else 0
    return results


def times_seen_mismatches(conn: psycopg.Connection, feed: FeedLog, applied: set[int]) -> tuple[int, int]:
    """Episodes whose times_seen differs from the applied scans that saw them, among those
    whose every scan was read from the feed (checked, mismatched)."""
    checked = mismatched = 0
    rows = conn.execute("SELECT key, first_seen, last_seen, times_seen FROM arbitrage_episode").fetchall()
    for key, first_seen, last_seen, times_seen in rows:
        lo, hi = int(first_seen.timestamp() * 1000), int(last_seen.timestamp() * 1000)
        window = [ts for ts in applied if lo <= ts <= hi]
        if not window or any(ts not in feed.scans for ts in window):
            continue
        checked += 1
        mismatched += times_seen != sum(1 for ts in window if key in feed.scans[ts])
    return checked, mismatched


def websocket_losses(clients: WebSocketClients, published: Sequence[int]) -> tuple[int, int]:
    expected = lost = 0
    for client in clients.clients:
        for start, end in client.windows:
            for ts in published:
                if start + WINDOW_MARGIN_SEC <= ts / 1000 <= end - WINDOW_MARGIN_SEC:
                    expected += 1
                    lost += ts not in client.received
    return expected, lost


def memory_growth(memory: Memory, warm_up_sec: float) -> dict[str, tuple[float, float, float | None]]:
    """Per service: RSS after warm-up and at the end (MiB), and the growth between them,
    over the service's last life (a killed and restarted worker is weighed from its
    restart) if that life outlasted the warm-up by a few minutes; else no growth figure."""
    if not memory.samples:
        return {}
    result: dict[str, tuple[float, float, float | None]] = {}
    last_t, _, last_starts = memory.samples[-1]
    for name in memory.samples[-1][1]:
        life = [(t, rss[name]) for t, rss, starts in memory.samples if starts[name] == last_starts[name] and rss[name]]
        if not life:
            continue
        born = life[0][0]
        settled = [(t, kb) for t, kb in life if t >= born + warm_up_sec]
        tail = [kb for t, kb in settled if t >= last_t - 60]  # the last minute, against sampling noise
        if len(settled) < 4 or last_t - settled[0][0] < 180 or not tail:
            result[name] = (life[0][1] / 1024, life[-1][1] / 1024, None)
            continue
        start_kb = sum(kb for _, kb in settled[:4]) / 4
        end_kb = sum(tail) / len(tail)
        result[name] = (start_kb / 1024, end_kb / 1024, end_kb / start_kb - 1)
    return result


def memory_timeline(memory: Memory, every_sec: float = 300.0) -> list[tuple[float, dict[str, int]]]:
    """RSS per service (MiB) at the start and every `every_sec` seconds after, and at the end."""
    if not memory.samples:
        return []
    start = memory.samples[0][0]
    picked, next_at = [], start
    for t, rss, _ in memory.samples:
        if t >= next_at:
            picked.append((t, rss))
            next_at += every_sec
    if picked[-1][0] != memory.samples[-1][0]:
        picked.append(memory.samples[-1][:2])
    return [((t - start) / 60, {name: round(kb / 1024) for name, kb in rss.items()}) for t, rss in picked]


def judge(
    database_url: str,
    *,
    minutes: float,
    interval: float,
    faults: Sequence[Fault],
    feed: FeedLog,
    clients: WebSocketClients,
    frozen: FrozenBooks,
    memory: Memory,
    warm_up_sec: float,
) -> Verdict:
    verdict = Verdict(minutes, interval)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT id, degraded, status FROM arbitrage_scanrecord ORDER BY id").fetchall()
        ids = [row[0] for row in rows]
        verdict.scans = len(ids)
        verdict.degraded_scans = sum(1 for row in rows if row[1])
        verdict.late_scans = sum(1 for row in rows if row[2] == "late")
        verdict.gaps, verdict.missed_scans = scan_gaps(ids, interval, faults)
        verdict.integrity = episode_integrity(conn)
        applied = {row[0] for row in rows if row[2] == "applied"}
        verdict.times_seen_checked, mismatched = times_seen_mismatches(conn, feed, applied)
        verdict.integrity["times_seen not the scans that saw it"] = mismatched
    verdict.audited_not_published = sum(1 for ts in ids if ts not in feed.scans and feed.scans and ts > min(feed.scans))
    verdict.ws_expected, verdict.ws_lost = websocket_losses(clients, sorted(feed.scans))
    verdict.ws_drops = sum(c.drops for c in clients.clients)
    verdict.clients = len(clients.clients)
    key, seconds = frozen.worst()
    verdict.frozen_worst = ("/".join(key) if key else "", seconds)
    verdict.frozen_samples = frozen.samples
    verdict.frozen_stretches = sorted(frozen.stretches, key=lambda s: s[1] - s[2])[:5]
    verdict.memory = memory_growth(memory, warm_up_sec)
    verdict.memory_over_time = memory_timeline(memory)
    for fault in faults:
        kind = fault.name.split(":")[0]
        verdict.faults[kind] = verdict.faults.get(kind, 0) + 1
    return verdict


def markdown(verdict: Verdict, when: dt.datetime) -> str:
    lines = [
        f"## Soak of {when:%Y-%m-%d %H:%M} UTC: {verdict.minutes:g} minutes",
        "",
        "| check | result |",
        "|---|---|",
    ]
    lines += [f"| {name} | {'pass' if ok else '**FAIL**'} |" for name, ok in verdict.passed.items()]
    worst_gap = max(verdict.gaps, key=lambda g: g.beyond_fault, default=None)
    lines += [
        "",
        f"- Faults injected: {', '.join(f'{kind} x{n}' for kind, n in sorted(verdict.faults.items()))}.",
        f"- Scans: {verdict.scans} recorded ({verdict.degraded_scans} degraded, {verdict.late_scans} late), "
        f"one due every {verdict.interval:g} s; {verdict.missed_scans} missed in {len(verdict.gaps)} gaps.",
    ]
    if worst_gap is not None:
        lines.append(
            f"- Longest gap beyond its fault's duration: {worst_gap.beyond_fault:+.1f} s "
            f"({worst_gap.seconds:.1f} s, during: {worst_gap.fault or 'no fault'})."
        )
    lines += [
        "- Episode integrity: "
        + ", ".join(f"{name} {count}" for name, count in verdict.integrity.items())
        + f" (times_seen checked on {verdict.times_seen_checked} episodes).",
        f"- WebSocket: {verdict.ws_lost} of {verdict.ws_expected} scan messages lost across {verdict.clients} clients "
        f"({verdict.ws_drops} disconnections); {verdict.audited_not_published} audited scans never published.",
        f"- Longest time a book stayed healthy while frozen: {verdict.frozen_worst[1]:.2f} s "
        f"({verdict.frozen_worst[0] or 'none'}; {verdict.frozen_samples} samples of every book)"
        + "".join(
            f"; {book} from {dt.datetime.fromtimestamp(start, dt.UTC):%H:%M:%S} for {end - start:.1f} s"
            for book, start, end in verdict.frozen_stretches
        )
        + ".",
        "",
        "| process | RSS after warm-up (MiB) | RSS at the end (MiB) | growth |",
        "|---|---|---|---|",
    ]
    for name, (start, end, growth) in sorted(verdict.memory.items()):
        shown = "n/a (life too short to judge)" if growth is None else f"{growth:+.1%}"
        lines.append(f"| {name} | {start:.0f} | {end:.0f} | {shown} |")
    if verdict.memory_over_time:
        names = sorted(verdict.memory_over_time[0][1])
        lines += ["", "RSS over time (MiB; a killed worker starts again small):", ""]
        lines += ["| minute | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for minute, rss in verdict.memory_over_time:
            lines.append(f"| {minute:.0f} | " + " | ".join(str(rss.get(name, 0)) for name in names) + " |")
    logged = ", ".join(f"{name} {n}" for name, n in sorted(verdict.tracebacks.items()) if n) or "none"
    lines += ["", f"Tracebacks in the services' logs: {logged}."]
    return "\n".join(lines) + "\n"
