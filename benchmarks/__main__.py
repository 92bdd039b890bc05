"""Run the benchmark sections and print one table (see benchmarks/__init__.py)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from benchmarks import Row


def _engine(repeat: int) -> list[Row]:
    from benchmarks.engine import run

    return run(repeat)


def _store(repeat: int) -> list[Row]:
    from benchmarks.store import DEFAULT_URL, encoding_rows, store_rows

    url = os.environ.get("TEST_REDIS_URL", DEFAULT_URL)
    rows = store_rows(url, repeats=repeat) + encoding_rows(url, repeats=max(3, repeat // 2))
    return [Row("store", name, best, median, repeat, note) for name, best, median, note in rows]


def _scan(repeat: int) -> list[Row]:
    from benchmarks.scan import run

    return run(repeat)


def _websocket(repeat: int) -> list[Row]:
    from benchmarks.websocket import diff_bytes, websocket_rows

    full, diff, ms = diff_bytes()
    sizes = Row(
        "websocket",
        "diff of a 1,000-row scan, 1 % changed (ms to make it)",
        ms,
        ms,
        1,
        f"{full:,} B whole, {diff:,} B as a diff: {full / diff:.0f}x fewer per client",
    )
    # Latency percentiles, not min/median: the two columns hold p50 and p99 here.
    rows = [Row("websocket", f"{case} (p50/p99)", p50, p99, 20, note) for case, p50, p99, note in websocket_rows()]
    return [sizes, *rows]


def _sharded(repeat: int) -> list[Row]:
    from benchmarks.sharded import run

    return run(repeat)


def _ingest(repeat: int) -> list[Row]:
    from benchmarks.ingest import ingest_rows
    from benchmarks.store import DEFAULT_URL

    url = os.environ.get("TEST_REDIS_URL", DEFAULT_URL)
    return [Row("ingest", name, first, second, 1, note) for name, first, second, note in ingest_rows(url)]


def _digest(repeat: int) -> list[Row]:
    from benchmarks.digest import run

    return run(repeat)


# Section name -> a function of the repeat count returning its rows. A new section (ingest,
# websocket) is a module of this package plus one entry here; imports stay lazy so that
# `--only engine` needs neither Redis nor Django.
SECTIONS: dict[str, Callable[[int], list[Row]]] = {
    "engine": _engine,
    "store": _store,
    "scan": _scan,
    "websocket": _websocket,
    "sharded": _sharded,
    "ingest": _ingest,
    "digest": _digest,
}


def _sections(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(SECTIONS)}"
        )
    return names


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def format_table(rows: Sequence[Row]) -> str:
    header = ("section", "case", "min ms", "median ms", "runs", "note")
    cells = [header] + [
        (row.section, row.case, f"{row.min_ms:.2f}", f"{row.median_ms:.2f}", str(row.runs), row.note) for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    numeric = {2, 3, 4}
    lines = []
    for n, line in enumerate(cells):
        lines.append(
            "  ".join(
                cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(line)
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--only", type=_sections, default=list(SECTIONS), help=f"comma-separated sections ({', '.join(SECTIONS)})"
    )
    parser.add_argument("--repeat", type=_positive, default=15, help="timed runs per case (default 15)")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    failed = False
    for name in args.only:
        try:
            rows.extend(SECTIONS[name](args.repeat))
        except Exception as exc:  # one section's missing service must not hide the others
            failed = True
            print(f"benchmarks: section {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    print(format_table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
