"""Two engines side by side, interleaved: `python -m benchmarks.compare BASE [--against TREE]`.

BASE and TREE are checkouts of this project (`git worktree add /tmp/bench-base REV` makes
one without touching the main checkout); TREE defaults to this one. Each runs in its own
worker process that imports `arbitrage.engine` and `kernel` from its tree but builds the
books with this checkout's `benchmarks/engine.py`, so both see the same inputs. Every round
times each case once in each worker, the order alternating from round to round, so that a
shared, noisy machine slows both alike; the table gives medians and the ratio TREE / BASE.

Cases, 14 x 500 x 20: `scan_books` and spatial and triangular alone with the usual plants
and fees, and triangular with one mispriced market per exchange (10 bps everywhere), whose
note counts the opportunities reported and, where the engine has them, their `variants`.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CASES = ("scan_books", "spatial", "triangular", "triangular, one mispriced market per exchange", "triangular, fair")


def _worker(tree: str) -> None:
    """Answer case names on stdin with one timed call each (JSON lines on stdout)."""
    sys.path.insert(0, tree)
    spec = importlib.util.spec_from_file_location("_bench_books", HERE / "engine.py")
    assert spec is not None and spec.loader is not None
    books_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(books_module)
    from arbitrage.engine.scan import UsdtMids, scan_books
    from arbitrage.engine.spatial import find_spatial
    from arbitrage.engine.triangular import find_triangular
    from arbitrage.engine.types import FeeSchedule, ScanParams

    now, params = books_module.NOW_MS, ScanParams()
    fees = FeeSchedule(taker_fee_bps={"binance": 7.5, "okx": 8.0, "kraken": 26.0})
    usual = books_module.synthetic_books(symbols=500)
    by_symbol, by_exchange = books_module._grouped(usual)
    one = books_module.synthetic_books(symbols=500, triangular_plants=len(books_module.EXCHANGES))
    one_by_symbol, one_by_exchange = books_module._grouped(one)
    fair = books_module.synthetic_books(symbols=500, spatial_plants=0, triangular_plants=0)
    fair_by_symbol, fair_by_exchange = books_module._grouped(fair)
    cases: dict[str, Callable[[], Any]] = {
        "scan_books": lambda: scan_books(usual, now, params, fees).opportunities,
        "spatial": lambda: find_spatial(by_symbol, UsdtMids(by_symbol), params, fees, now),
        "triangular": lambda: find_triangular(by_exchange, UsdtMids(by_symbol), params, fees, now),
        CASES[3]: lambda: find_triangular(one_by_exchange, UsdtMids(one_by_symbol), params, FeeSchedule(), now),
        CASES[4]: lambda: find_triangular(fair_by_exchange, UsdtMids(fair_by_symbol), params, FeeSchedule(), now),
    }
    notes = {name: _counts(fn(), len(by_exchange)) for name, fn in cases.items()}  # also the warm-up
    gc.collect()
    gc.freeze()
    print(json.dumps({"engine": sys.modules[find_triangular.__module__].__file__, "notes": notes}), flush=True)
    for line in sys.stdin:
        gc.disable()
        started = time.perf_counter()
        cases[line.strip()]()
        elapsed = (time.perf_counter() - started) * 1000.0
        gc.enable()
        print(json.dumps(elapsed), flush=True)


def _counts(opportunities: Sequence[Any], exchanges: int) -> str:
    """What a case reported; cycles are the sum of `variants` (1 each before issue #14)."""
    triangular = [o for o in opportunities if o.type == "triangular"]
    spatial = len(opportunities) - len(triangular)
    found = [f"{spatial} spatial"] if spatial else []
    if triangular:
        per_exchange: dict[str, int] = {}
        for opportunity in triangular:
            per_exchange[opportunity.buy_exchange] = per_exchange.get(opportunity.buy_exchange, 0) + 1
        cycles = sum(getattr(o, "variants", None) or 1 for o in triangular)
        found.append(
            f"{len(triangular)} triangular on {len(per_exchange)}/{exchanges} exchanges"
            f" (max {max(per_exchange.values())} on one), {cycles} cycles"
        )
    return ", ".join(found)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    parser.add_argument("base", help="the baseline checkout")
    parser.add_argument("--against", default=str(HERE.parent), help="the checkout compared (default: this one)")
    parser.add_argument("--rounds", type=int, default=21, help="timed calls per case and engine (default 21)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.base)
        return 0
    trees = {"base": args.base, "new": args.against}
    workers = {
        name: subprocess.Popen(
            [sys.executable, str(HERE / "compare.py"), "--worker", tree],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name, tree in trees.items()
    }
    ready = {name: json.loads(_read(worker)) for name, worker in workers.items()}
    samples: dict[tuple[str, str], list[float]] = {(name, case): [] for name in trees for case in CASES}
    for round_ in range(args.rounds):
        for case in CASES:
            for name in ("base", "new") if round_ % 2 == 0 else ("new", "base"):
                worker = workers[name]
                assert worker.stdin is not None
                worker.stdin.write(case + "\n")
                worker.stdin.flush()
                samples[(name, case)].append(float(json.loads(_read(worker))))
    for worker in workers.values():
        assert worker.stdin is not None
        worker.stdin.close()
        worker.wait()
    for name, tree in trees.items():
        print(f"{name}: {tree} ({ready[name]['engine']})")
    print(f"median of {args.rounds} interleaved rounds, ms (14 x 500 x 20)")
    for case in CASES:
        base, new = (statistics.median(samples[(name, case)]) for name in ("base", "new"))
        print(f"  {case:48s} base {base:8.2f}  new {new:8.2f}  new/base {new / base:5.2f}")
        if case.startswith("triangular"):
            print(f"  {'':48s} per exchange: base {base / 14:.3f}, new {new / 14:.3f}")
        for name in ("base", "new"):
            if note := ready[name]["notes"][case]:
                print(f"  {'':48s} {name}: {note}")
    return 0


def _read(worker: subprocess.Popen[str]) -> str:
    assert worker.stdout is not None
    line = worker.stdout.readline()
    if not line:
        raise RuntimeError(f"benchmark worker {worker.args!r} stopped (exit code {worker.wait()})")
    return line


if __name__ == "__main__":
    sys.exit(main())
