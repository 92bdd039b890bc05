"""`python manage.py scan`: one scan, printed (docs/design.md, "Contracts").

    manage.py scan --books FILE.jsonl [--now MS] [--format json|table]
        [--target-notional USDT] [--min-net-edge-pct PCT] [--slippage-bps BPS]
        [--stale-after-sec SEC] [--fees FILE.json]

With `--books` it scans the books of a JSONL file (one book per line, blank lines
ignored) and needs no database: the configured thresholds and fees are used when the
database is there and migrated, the engine's defaults otherwise. Without `--books` it
scans the live book store with the database's settings. Flags override settings; a fees
file (arbitrage.engine.fees) is merged over the configured fees, its values winning.
stdout carries only the result; logs go to stderr; bad input is one line on stderr and a
non-zero exit.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError

from arbitrage.engine.fees import FeeOverrides, parse_fees
from arbitrage.engine.scan import scan_books
from arbitrage.engine.types import FeeSchedule, Opportunity, ScanParams, ScanResult
from cli.commands import OneLineErrorCommand
from kernel.book import MAX_TS_MS, BookError, OrderBookSnapshot, parse_book_json
from kernel.clock import now_ms

logger = logging.getLogger("arbitrage.scan")

# flag -> (ScanParams field, what the value must be)
THRESHOLD_FLAGS = {
    "target_notional": ("target_notional_usdt", "positive"),
    "min_net_edge_pct": ("min_net_edge_pct", "finite"),
    "slippage_bps": ("slippage_bps", "non-negative"),
    "stale_after_sec": ("stale_after_sec", "positive"),
}


class Command(OneLineErrorCommand):
    help = "Scan a JSONL file of books (or the live book store) once and print the opportunities."
    # Works on a fresh checkout before `migrate`: nothing here needs the system checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--books", metavar="FILE.jsonl", help="books to scan (default: the live book store)")
        parser.add_argument("--now", metavar="MS", help="the scan's time, ms since the epoch (default: now)")
        parser.add_argument("--format", default="json", metavar="json|table", help="output format (default json)")
        parser.add_argument("--target-notional", metavar="USDT", help="size of each trade in USDT")
        parser.add_argument("--min-net-edge-pct", metavar="PCT", help="report opportunities from this net edge")
        parser.add_argument("--slippage-bps", metavar="BPS", help="slippage allowance in basis points")
        parser.add_argument("--stale-after-sec", metavar="SEC", help="leave out books older than this")
        parser.add_argument("--fees", metavar="FILE.json", help="fees merged over the configured ones")

    def handle(self, *args: Any, **options: Any) -> None:
        output = options["format"]
        if output not in ("json", "table"):
            raise CommandError(f"--format: expected json or table, got {output!r}")
        now_ms = _now(options["now"])
        overrides = _threshold_overrides(options)
        fee_overrides = _load_fees_file(Path(options["fees"])) if options["fees"] is not None else None
        if options["books"] is not None:
            books = _load_books(Path(options["books"]))
            params, fees = _configured(required=False)
        else:
            params, fees = _configured(required=True)
            books = _live_books()
        params = dataclasses.replace(params, **overrides)
        if fee_overrides is not None:
            fees = fee_overrides.apply_to(fees)
        result = scan_books(books, now_ms, params, fees)
        logger.info(
            "scan done",
            extra={
                "books": result.books_total,
                "used": result.books_used,
                "stale": result.skipped_stale,
                "unhealthy": result.skipped_unhealthy,
                "future": result.skipped_future,
                "opportunities": len(result.opportunities),
            },
        )
        if output == "json":
            self.stdout.write(orjson.dumps([o.as_dict() for o in result.opportunities]).decode())
        else:
            self.stdout.write(format_table(result))


def _now(raw: Any) -> int:
    if raw is None:
        return now_ms()
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise CommandError(f"--now: expected a time in ms since the epoch, got {raw!r}") from None
    if not 0 <= value <= MAX_TS_MS:
        raise CommandError(f"--now: expected a time in ms since the epoch (0 to 2^53), got {raw!r}")
    return value


def _threshold_overrides(options: dict[str, Any]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for option, (field, rule) in THRESHOLD_FLAGS.items():
        raw = options.get(option)
        if raw is None:
            continue
        flag = "--" + option.replace("_", "-")
        try:
            value = float(raw) if not isinstance(raw, bool) else math.nan
        except (TypeError, ValueError, OverflowError):
            value = math.nan
        valid = math.isfinite(value) and (rule == "finite" or (value > 0 if rule == "positive" else value >= 0))
        if not valid:
            raise CommandError(f"{flag}: expected a {rule} number, got {raw!r}")
        overrides[field] = value
    return overrides


def _database_exists() -> bool:
    """False for an SQLite file that is not there yet: connecting would create it, and a scan
    of a books file must leave a fresh checkout as it found it."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        return True
    name = str(db["NAME"])
    return name == ":memory:" or name.startswith("file:") or (os.path.isfile(name) and os.path.getsize(name) > 0)


def _configured(required: bool) -> tuple[ScanParams, FeeSchedule]:
    """The admin-configured thresholds and fees, or (for a books file) the engine defaults
    when the database is missing or not migrated."""
    from arbitrage.runtime.config import load_scan_config

    if not required and not _database_exists():
        logger.debug("scan: no database yet, using the engine defaults")
        return ScanParams(), FeeSchedule()
    try:
        return load_scan_config()
    except (DatabaseError, ImproperlyConfigured) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if required:
            raise CommandError(f"database: cannot read the scanner settings ({reason})") from None
        logger.debug("scan: no configuration in the database, using the engine defaults", extra={"reason": reason})
        return ScanParams(), FeeSchedule()


def _live_books() -> list[OrderBookSnapshot]:
    from exchanges.store import StoreUnavailable, get_book_store

    try:
        book_slice = get_book_store().read_all()
    except StoreUnavailable as exc:
        raise CommandError(f"book store: {exc}") from None
    for corrupt in book_slice.corrupt:
        logger.warning("scan: skipped a corrupt book", extra={"key": corrupt.key, "error": corrupt.error})
    return book_slice.books


def _load_books(path: Path) -> list[OrderBookSnapshot]:
    books = []
    try:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    books.append(parse_book_json(line))
                except BookError as exc:
                    raise CommandError(f"{path}:{number}: {exc}") from None
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the books file ({exc.strerror or exc})") from None
    return books


def _load_fees_file(path: Path) -> FeeOverrides:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the fees file ({exc.strerror or exc})") from None
    try:
        return parse_fees(orjson.loads(data))
    except orjson.JSONDecodeError as exc:
        raise CommandError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    except ValueError as exc:
        raise CommandError(f"{path}: {exc}") from None


def format_table(result: ScanResult) -> str:
    """The opportunities as a fixed-width table for people (JSON is the exact form)."""
    header = ("type", "symbol / path", "buy", "sell", "buy vwap", "sell vwap", "net %", "profit", "qty",
              "best qty", "best profit", "risk")  # fmt: skip
    rows = [header] + [_row(o) for o in result.opportunities]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    if not result.opportunities:
        lines.append("(no opportunities)")
    lines.append(
        f"{result.books_total} books: {result.books_used} used, {result.skipped_stale} stale, "
        f"{result.skipped_unhealthy} unhealthy, {result.skipped_future} from the future; "
        f"spatial {result.spatial_ms:.1f} ms, "
        f"triangular {result.triangular_ms:.1f} ms"
    )
    return "\n".join(lines)


def _row(o: Opportunity) -> tuple[str, ...]:
    return (
        o.type,
        o.symbol,
        o.buy_exchange,
        o.sell_exchange,
        f"{o.buy_vwap:.8g}",
        f"{o.sell_vwap:.8g}",
        f"{o.net_edge_pct:.4f}",
        f"{o.expected_profit_usdt:.2f}",
        f"{o.available_qty:.6g}",
        f"{o.optimal_qty:.6g}",
        f"{o.optimal_profit_usdt:.2f}",
        ",".join(o.risk_flags) or o.risk_flag,
    )
