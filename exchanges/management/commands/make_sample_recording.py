"""`python manage.py make_sample_recording`: (re)build the shipped sample recording.

    manage.py make_sample_recording [--output FILE] [--seconds 90] [--seed 7]

Writes `exchanges/fixtures/sample_recording.jsonl.gz` (or FILE): a minute and a half of
the simulated market on four exchanges and three symbols, with one spatial edge planted
from `PLANT_AT_SEC` to the end, so a replay shows a quiet market, then the edge. The
market runs on simulated time (no sleeping, a few seconds to build) and the file is the
same byte for byte for the same flags and simulator.

Each exchange updates at its own pace (`UPDATE_EVERY_SEC`) rather than all books at
once, so a replay exercises real inter-arrival times.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from cli.commands import OneLineErrorCommand
from exchanges.connectors.simulated import SimulatedMarket, SimulationConfig
from exchanges.recording import BookRecorder, RecordingError

logger = logging.getLogger("exchanges.make_sample_recording")

SAMPLE_PATH = Path(__file__).resolve().parents[2] / "fixtures" / "sample_recording.jsonl.gz"
EXCHANGES = ("binance", "okx", "kraken", "bybit")
SYMBOLS = ("BTC-USDT", "ETH-USDT", "ETH-BTC")
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: a fixed start keeps the file reproducible
TICK_MS = 250
UPDATE_EVERY_SEC = {"binance": 0.5, "okx": 0.75, "kraken": 1.0, "bybit": 1.25}
LEVELS = 10  # a side; enough for 1,000 USDT on every book, and keeps the file small
PLANT_AT_SEC = 20
# okx's ETH-USDT gets cheap: buy there, sell on the best other venue, 0.6 % net.
PLANT_SYMBOL, PLANT_EXCHANGE, PLANT_SIDE, PLANT_NET_EDGE_PCT = "ETH-USDT", "okx", "buy", 0.6


@dataclass(frozen=True, slots=True)
class SampleSummary:
    path: Path
    books: int
    bytes: int


def write_sample_recording(path: Path, seconds: float = 90.0, seed: int = 7) -> SampleSummary:
    """Write the sample recording to `path` (replacing it) and say what it holds."""
    if not seconds > PLANT_AT_SEC:
        raise ValueError(f"seconds must be more than {PLANT_AT_SEC} (the edge is planted then)")
    # No random plants: the one planted below is the edge a replay must show.
    config = SimulationConfig(levels=LEVELS, spatial_plants_per_minute=0.0, triangular_plants_per_minute=0.0)
    market = SimulatedMarket(SYMBOLS, EXCHANGES, config=config, seed=seed)
    end_ms = START_MS + int(seconds * 1000)
    next_update = dict.fromkeys(EXCHANGES, START_MS)
    path.unlink(missing_ok=True)  # the recorder appends; the sample is rebuilt whole
    books = 0
    with BookRecorder(path, compresslevel=9) as recorder:
        for now_ms in range(START_MS, end_ms, TICK_MS):
            if now_ms == START_MS + PLANT_AT_SEC * 1000:
                plant = market.plant_spatial(
                    now_ms,
                    symbol=PLANT_SYMBOL,
                    exchange=PLANT_EXCHANGE,
                    side=PLANT_SIDE,
                    net_edge_pct=PLANT_NET_EDGE_PCT,
                    lifetime_sec=seconds,
                )
                if plant is None:
                    raise RuntimeError("the simulated market refused the sample's plant")
            due = {exchange for exchange, at in next_update.items() if now_ms >= at}
            ticked = market.tick(now_ms)  # every tick, so prices walk at the tick's pace
            for exchange in due:
                next_update[exchange] = now_ms + int(UPDATE_EVERY_SEC[exchange] * 1000)
            for book in ticked:
                if book.exchange in due:
                    recorder.write(book)
                    books += 1
    return SampleSummary(path, books, path.stat().st_size)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not PLANT_AT_SEC < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between {PLANT_AT_SEC} and 3600 seconds, got {text!r}")
    return value


class Command(OneLineErrorCommand):
    help = "Rebuild the small recorded sample of the simulated market (for tests and the replay demo)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=SAMPLE_PATH, help=f"where to write (default {SAMPLE_PATH})")
        parser.add_argument("--seconds", type=_positive_seconds, default=90.0, help="simulated seconds to record")
        parser.add_argument("--seed", type=int, default=7, help="seed of the simulated market")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = write_sample_recording(options["output"], options["seconds"], options["seed"])
        except (RecordingError, OSError) as exc:
            raise CommandError(str(exc)) from None
        logger.info(
            "sample recording written",
            extra={"file": str(summary.path), "books": summary.books, "bytes": summary.bytes},
        )
        self.stdout.write(f"{summary.path}: {summary.books} books, {summary.bytes:,} bytes")
