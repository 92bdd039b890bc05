"""`python manage.py ingest --connector simulated`: market data into the book store.

The long-running `ingest` service of full mode (websockets do not belong in Celery
tasks). It writes through `get_book_store()` (Redis when REDIS_URL is set), logs progress
every `--progress-every` seconds, and stops cleanly on Ctrl-C, SIGTERM (docker stop) or
after `--duration` seconds.

    manage.py ingest --connector simulated [--symbols BTC-USDT,ETH-USDT]
        [--exchanges binance,okx] [--interval 1.0] [--seed N] [--duration SEC]

Symbols and exchanges default to what admins enabled in the database.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from exchanges.models import SUPPORTED_EXCHANGES, Exchange, WatchedSymbol, validate_symbol

logger = logging.getLogger("exchanges.ingest")

IMPLEMENTED = ("simulated",)
# Named in the design, built by later issues: refused with a pointer, not as a typo.
PLANNED = {"ccxt": "live exchange data", "replay": "replaying a JSONL file of books"}


class _OneLineErrorParser(CommandParser):
    """Bad flags print one line (not the whole usage) and exit 2."""

    def error(self, message: str) -> NoReturn:
        if self.called_from_command_line:
            self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
        raise CommandError(f"Error: {message}")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _csv(text: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list, got nothing")
    return items


class Command(BaseCommand):
    help = "Stream order books from a market data connector into the book store until stopped."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _OneLineErrorParser  # same parser, only error() differs
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--connector",
            required=True,
            metavar="NAME",
            help=f"where books come from: {', '.join(IMPLEMENTED)} (planned: {', '.join(PLANNED)})",
        )
        parser.add_argument(
            "--symbols", type=_csv, help="comma-separated BASE-QUOTE symbols (default: the enabled watchlist)"
        )
        parser.add_argument(
            "--exchanges", type=_csv, help="comma-separated exchange ids (default: the enabled exchanges)"
        )
        parser.add_argument("--interval", type=_positive_float, default=1.0, help="simulated tick, seconds")
        parser.add_argument("--seed", type=int, help="seed of the simulated market (reproducible runs)")
        parser.add_argument("--duration", type=_positive_float, help="stop after this many seconds")
        parser.add_argument(
            "--progress-every", type=_positive_float, default=10.0, help="seconds between progress log lines"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connector = options["connector"]
        if connector in PLANNED:
            raise CommandError(
                f"--connector {connector} ({PLANNED[connector]}) is not implemented yet; use --connector simulated"
            )
        if connector not in IMPLEMENTED:
            raise CommandError(f"unknown connector {connector!r}; choose from: {', '.join(IMPLEMENTED)}")
        # Flags are checked before the database is read, so a typo is reported as such.
        symbols = self._given_symbols(options["symbols"])
        exchanges = self._given_exchanges(options["exchanges"])
        if symbols is None:
            symbols = self._from_database(WatchedSymbol.objects.filter(enabled=True).values_list("symbol", flat=True))
            if not symbols:
                raise CommandError("the watchlist has no enabled symbol: enable some in admin, or pass --symbols")
        if exchanges is None:
            exchanges = self._from_database(Exchange.objects.filter(enabled=True).values_list("id", flat=True))
            if not exchanges:
                raise CommandError("no exchange is enabled: enable some in admin, or pass --exchanges")

        from exchanges.connectors.runner import stop_on_signals
        from exchanges.connectors.simulated import run_simulated_market
        from exchanges.store import get_book_store

        store = get_book_store()
        if not settings.REDIS_URL:
            logger.warning(
                "REDIS_URL is not set: books stay in this process's memory where no scanner reads them "
                "(set REDIS_URL for full mode, or run `manage.py demo`)"
            )
        try:
            with stop_on_signals() as stop:
                logger.info(
                    "ingest started",
                    extra={
                        "connector": connector,
                        "symbols": len(symbols),
                        "exchanges": len(exchanges),
                        "interval_sec": options["interval"],
                        "store": type(store).__name__,
                    },
                )
                summary = run_simulated_market(
                    store,
                    symbols,
                    exchanges,
                    interval=options["interval"],
                    stop_event=stop,
                    seed=options["seed"],
                    duration=options["duration"],
                    progress_every=options["progress_every"],
                )
        except KeyboardInterrupt:
            # A second Ctrl-C while shutting down: the user wants out now.
            logger.warning("ingest interrupted during shutdown")
            sys.exit(130)
        logger.info(
            "ingest stopped",
            extra={
                "books_written": summary.stats.books_written,
                "store_writes": summary.stats.writes,
                "write_errors": summary.stats.write_errors,
                "restarts": sum(s.restarts for s in summary.statuses.values()),
            },
        )

    @staticmethod
    def _given_symbols(given: list[str] | None) -> list[str] | None:
        if given is None:
            return None
        symbols = [s.upper() for s in given]
        for symbol in symbols:
            try:
                validate_symbol(symbol)
            except ValidationError as exc:
                raise CommandError(f"--symbols: {' '.join(exc.messages)}") from None
        return symbols

    @staticmethod
    def _given_exchanges(given: list[str] | None) -> list[str] | None:
        if given is None:
            return None
        exchanges = [e.lower() for e in given]
        unknown = [e for e in exchanges if e not in SUPPORTED_EXCHANGES]
        if unknown:
            raise CommandError(
                f"--exchanges: unknown exchange(s) {', '.join(unknown)}; choose from {', '.join(SUPPORTED_EXCHANGES)}"
            )
        return exchanges

    @staticmethod
    def _from_database(query: Any) -> list[str]:
        try:
            return [str(value) for value in query]
        except DatabaseError as exc:
            raise CommandError(
                f"cannot read the database ({str(exc).splitlines()[0]}): run `manage.py migrate`, "
                "or pass both --symbols and --exchanges"
            ) from None
