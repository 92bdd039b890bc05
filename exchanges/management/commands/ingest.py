"""`python manage.py ingest`: market data into the book store.

The long-running `ingest` service of full mode (websockets do not belong in Celery
tasks). It writes through `get_book_store()` (Redis when REDIS_URL is set), logs progress
every `--progress-every` seconds, and stops cleanly on Ctrl-C, SIGTERM (docker stop) or
after `--duration` seconds.

    manage.py ingest --connector ccxt [--ccxt-config FILE.json] [--exchanges binance,okx]
        [--symbols BTC-USDT,ETH-USDT] [--shard i/n] [--reload-every SEC]
        [--metrics-port PORT] [--flush-interval SEC] [--duration SEC] [--processes N]
    manage.py ingest --connector simulated [--symbols ...] [--exchanges ...]
        [--interval 1.0] [--seed N] [--duration SEC]
    manage.py ingest --connector replay --file REC.jsonl.gz [--speed 1|10|max] [--loop]
    any of them: [--record REC.jsonl.gz]

`ccxt` streams the real exchanges through ccxt.pro (exchanges/connectors/ccxt_connector.py),
one connector per exchange, each isolated and restarted with backoff. Symbols and
exchanges default to what admins enabled in the database; with `ccxt` the watchlist and
the exchanges' enabled flags are read again every `--reload-every` seconds, so admin
changes apply without a restart (`--exchanges` then picks which exchanges this process
serves, `--shard i/n` which share of the symbols: run one process per exchange or per
shard, on as many hosts as needed, all writing to the same Redis). Exchange endpoints and
tuning come from `--ccxt-config` (default: the CCXT_CONFIG_FILE setting).

`replay` plays a recording back (exchanges/connectors/replay.py) at `--speed` times the
recorded pace, freshly timestamped; the recording decides the symbols and exchanges, so
no database is read. `--record FILE` writes every book update any connector produces to
FILE (gzip JSONL, appended; exchanges/recording.py), next to the store writes.
"""

from __future__ import annotations

import argparse
import logging
import threading
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError

from cli.commands import OneLineErrorCommand, csv_list
from exchanges import registry
from exchanges.connectors.symbols import Shard
from exchanges.management.flags import ccxt_config_flag, exchanges_flag
from exchanges.models import Exchange, WatchedSymbol, validate_symbol
from kernel.gc_tuning import freeze_startup
from kernel.ids import normalize_symbol

if TYPE_CHECKING:
    from exchanges.connectors.base import Connector
    from exchanges.connectors.ccxt_config import IngestConfig
    from exchanges.connectors.runner import RunSummary
    from exchanges.recording import BookRecorder
    from exchanges.store import BookStore

logger = logging.getLogger("exchanges.ingest")

IMPLEMENTED = ("simulated", "ccxt", "replay")
# Flags that only mean something to a replay, and those a replay has no use for (the
# recording decides which books it plays).
REPLAY_ONLY = ("file", "speed", "loop")
NOT_FOR_REPLAY = ("symbols", "exchanges", "shard")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text!r}")
    return value


def _shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _speed(text: str) -> float:
    from exchanges.connectors.replay import parse_speed

    try:
        return parse_speed(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class Command(OneLineErrorCommand):
    help = "Stream order books from a market data connector into the book store until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--connector",
            required=True,
            metavar="NAME",
            help=f"where books come from: {', '.join(IMPLEMENTED)}",
        )
        parser.add_argument(
            "--record", metavar="FILE", help="also write every book update to FILE (gzip JSONL, appended)"
        )
        parser.add_argument("--file", metavar="FILE", help="replay: the recording to play")
        parser.add_argument(
            "--speed",
            type=_speed,
            metavar="X",
            help="replay: 1 = as recorded (default), 10 = ten times faster, max = as fast as possible",
        )
        parser.add_argument("--loop", action="store_true", help="replay: start over at the end of the recording")
        parser.add_argument(
            "--symbols", type=csv_list, help="comma-separated BASE-QUOTE symbols (default: the enabled watchlist)"
        )
        parser.add_argument(
            "--exchanges", type=csv_list, help="comma-separated exchange ids (default: the enabled exchanges)"
        )
        parser.add_argument(
            "--shard", type=_shard, metavar="I/N", help="ccxt: watch only share I of N of the symbols (e.g. 0/4)"
        )
        parser.add_argument(
            "--ccxt-config",
            metavar="FILE.json",
            help="ccxt: exchange endpoints and connector tuning (default: the CCXT_CONFIG_FILE setting)",
        )
        parser.add_argument(
            "--reload-every",
            type=_positive_float,
            default=30.0,
            help="ccxt: seconds between reads of the admin's watchlist and enabled exchanges",
        )
        parser.add_argument(
            "--metrics-port",
            type=_port,
            help="serve Prometheus metrics on this port (default: METRICS_PORT; 0 or unset: not served)",
        )
        parser.add_argument(
            "--flush-interval",
            type=_positive_float,
            default=0.01,
            help="ccxt and replay: seconds a changed book may wait to be batched into one store write",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            metavar="N",
            help="ccxt: run N supervised ingest processes over disjoint shards of the symbols (one Ctrl-C stops all)",
        )
        parser.add_argument("--interval", type=_positive_float, default=1.0, help="simulated tick, seconds")
        parser.add_argument("--seed", type=int, help="seed of the simulated market (reproducible runs)")
        parser.add_argument("--duration", type=_positive_float, help="stop after this many seconds")
        parser.add_argument(
            "--progress-every", type=_positive_float, default=10.0, help="seconds between progress log lines"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connector = options["connector"]
        if connector not in IMPLEMENTED:
            raise CommandError(f"unknown connector {connector!r}; choose from: {', '.join(IMPLEMENTED)}")
        # Flags and files are checked before the database is read, so a typo is reported as such.
        self._check_flags_fit(connector, options)
        given_symbols = self._given_symbols(options["symbols"])
        given_exchanges = exchanges_flag(options["exchanges"])
        ingest_config = self._ingest_config(connector, options["ccxt_config"])
        shard: Shard | None = options["shard"]
        replay = self._replay_connector(options) if connector == "replay" else None
        symbols: list[str] = []
        exchanges: list[str] = []
        if replay is None:
            symbols, exchanges = self._symbols_and_exchanges(given_symbols, given_exchanges)
            if shard is not None:
                symbols = shard.select(symbols)
                if not symbols and connector == "simulated":
                    raise CommandError(f"--shard {shard}: this shard owns none of the symbols")

        from exchanges.connectors.runner import stop_on_signals

        if options["processes"] > 1:
            self._supervise(options, shard)
            return

        # Opened first: a recording that cannot be written is then the only line printed.
        recorder = self._open_recorder(options["record"])
        summary: RunSummary | None = None
        try:
            # The handlers go in before anything slow and before "ingest started" is logged:
            # a Ctrl-C during start-up, or from whoever waits for that line, is a clean stop.
            with stop_on_signals() as stop:
                store = self._store(options["metrics_port"])
                logger.info(
                    "ingest started",
                    extra={
                        "connector": connector,
                        "symbols": len(symbols) if replay is None else "-",
                        "exchanges": len(exchanges) if replay is None else "-",
                        "shard": str(shard) if shard is not None else "-",
                        "store": type(store).__name__,
                        "record": options["record"] or "-",
                    },
                )
                if replay is not None:
                    connectors: list[Connector] = [replay]
                    run_options = {"flush_interval": options["flush_interval"]}
                elif ingest_config is None:
                    connectors, run_options = self._simulated(symbols, exchanges, options), {}
                else:
                    connectors = self._ccxt(ingest_config, given_symbols, given_exchanges, shard, options)
                    run_options = {"flush_interval": options["flush_interval"], "backoff": ingest_config.backoff}
                summary = self._run(connectors, store, recorder, stop, options, run_options)
        except KeyboardInterrupt:
            # A Ctrl-C that found the default handler (a second one while shutting down, or
            # one racing the handler's restore): the user asked to stop, so it is a stop.
            logger.warning("ingest interrupted during shutdown; books not yet written may be lost")
        finally:
            if recorder is not None:
                self._close_recorder(recorder)
        stats = {}
        if summary is not None:
            stats = {
                # Updates coalesce: a book that changed many times between two writes is written once.
                "updates_received": summary.stats.books_received,
                "books_written": summary.stats.books_written,
                "store_writes": summary.stats.writes,
                "write_errors": summary.stats.write_errors,
                "restarts": sum(s.restarts for s in summary.statuses.values()),
            }
        logger.info("ingest stopped", extra=stats)

    @staticmethod
    def _supervise(options: dict[str, Any], shard: Shard | None) -> None:
        from exchanges.connectors.runner import stop_on_signals
        from exchanges.ingest_processes import child_argv, child_shards, supervise

        shards = child_shards(shard, options["processes"])
        with stop_on_signals() as stop:
            extra = {"processes": len(shards), "shards": ",".join(map(str, shards))}
            logger.info("ingest supervisor started", extra=extra)
            argv_for = {s: child_argv(options, s, i) for i, s in enumerate(shards)}
            children = supervise(argv_for, stop, finite=options["duration"] is not None)
        logger.info("ingest supervisor stopped", extra={"restarts": sum(c.restarts for c in children)})

    @staticmethod
    def _store(metrics_port: int | None) -> BookStore:
        from exchanges.store import get_book_store

        store = get_book_store()
        if not settings.REDIS_URL:
            logger.warning(
                "REDIS_URL is not set: books stay in this process's memory where no scanner reads them "
                "(set REDIS_URL for full mode, or run `manage.py demo`)"
            )
        port = metrics_port if metrics_port is not None else int(settings.METRICS_PORT) or None
        if port is not None:
            from cli.exporter import serve_metrics

            try:
                serve_metrics(port, "ingest")
            except OSError as exc:
                flag = "--metrics-port" if metrics_port is not None else "METRICS_PORT"
                raise CommandError(f"{flag} {port}: {exc.strerror or exc}") from None
        return store

    @staticmethod
    def _run(
        connectors: list[Connector],
        store: BookStore,
        recorder: BookRecorder | None,
        stop: threading.Event,
        options: dict[str, Any],
        run_options: dict[str, Any],
    ) -> RunSummary:
        from exchanges.connectors.runner import run_connectors
        from exchanges.recording import record_connectors

        if recorder is not None:
            connectors = record_connectors(connectors, recorder)
        # Start-up (Django, ccxt's exchange classes) leaves objects that every full
        # collection walks again: 110-125 ms pauses gave a p99 store lag of ~218 ms;
        # frozen out of the collector, ~30 ms.
        freeze_startup()
        return run_connectors(
            connectors,
            store,
            stop=stop,
            duration=options["duration"],
            progress_every=options["progress_every"],
            **run_options,
        )

    @staticmethod
    def _simulated(symbols: list[str], exchanges: list[str], options: dict[str, Any]) -> list[Connector]:
        # What run_simulated_market runs, built here so --record can wrap the connector.
        from exchanges.connectors.simulated import SimulatedConnector, SimulatedMarket

        market = SimulatedMarket(symbols, exchanges, seed=options["seed"])
        return [SimulatedConnector(market, options["interval"])]

    @staticmethod
    def _ccxt(
        config: IngestConfig,
        given_symbols: list[str] | None,
        given_exchanges: list[str] | None,
        shard: Shard | None,
        options: dict[str, Any],
    ) -> list[Connector]:
        from exchanges.connectors.ccxt_connector import build_connector
        from exchanges.connectors.symbols import StaticSymbols, SymbolSource
        from exchanges.watchlist import DatabaseWatchlist

        source: SymbolSource
        if given_symbols is not None and given_exchanges is not None:
            # Everything given on the command line: no database involved.
            source = StaticSymbols(shard.select(given_symbols) if shard is not None else given_symbols)
        else:
            source = DatabaseWatchlist(options["reload_every"], shard=shard, symbols=given_symbols)
        # Without --exchanges every exchange gets a connector that idles while disabled in
        # admin, so switching one on later needs no restart.
        names = given_exchanges if given_exchanges is not None else list(registry.IDS)
        return [build_connector(name, config, source) for name in names]

    @staticmethod
    def _check_flags_fit(connector: str, options: dict[str, Any]) -> None:
        given = {name for name, value in options.items() if value not in (None, False)}
        processes = options.get("processes", 1)
        if processes < 1:
            raise CommandError(f"--processes must be at least 1, got {processes}")
        if processes > 1 and connector != "ccxt":
            raise CommandError("--processes applies to --connector ccxt only")
        if processes > 1 and options.get("record"):
            raise CommandError("--record writes one file from one process: use it without --processes")
        if connector == "replay":
            if "file" not in given:
                raise CommandError("--connector replay needs --file (the recording to play)")
            wrong = [name for name in NOT_FOR_REPLAY if name in given]
            if wrong:
                raise CommandError(f"--{wrong[0]} does not apply to --connector replay: the recording decides")
        else:
            wrong = [name for name in REPLAY_ONLY if name in given]
            if wrong:
                raise CommandError(f"--{wrong[0]} applies to --connector replay only")

    @staticmethod
    def _replay_connector(options: dict[str, Any]) -> Connector:
        from exchanges.connectors.replay import ReplayConnector
        from exchanges.recording import RecordingError

        speed = options["speed"] if options["speed"] is not None else 1.0
        try:
            return ReplayConnector(options["file"], speed, loop=options["loop"])
        except RecordingError as exc:
            raise CommandError(f"--file: {exc}") from None

    @staticmethod
    def _open_recorder(path: str | None) -> BookRecorder | None:
        if path is None:
            return None
        from exchanges.recording import BookRecorder, RecordingError

        try:
            return BookRecorder(path)
        except RecordingError as exc:
            raise CommandError(f"--record: {exc}") from None

    @staticmethod
    def _close_recorder(recorder: BookRecorder) -> None:
        from exchanges.recording import RecordingError

        try:
            recorder.close()
        except RecordingError as exc:
            # The books reached the store; only the end of the recording is in doubt.
            logger.error("recording not finished cleanly", extra={"file": str(recorder.path), "error": str(exc)})
        else:
            logger.info("recording closed", extra={"file": str(recorder.path), "books": recorder.books_written})

    def _symbols_and_exchanges(
        self, given_symbols: list[str] | None, given_exchanges: list[str] | None
    ) -> tuple[list[str], list[str]]:
        symbols, exchanges = given_symbols, given_exchanges
        if symbols is None:
            symbols = self._from_database(WatchedSymbol.objects.filter(enabled=True).values_list("symbol", flat=True))
            if not symbols:
                raise CommandError("the watchlist has no enabled symbol: enable some in admin, or pass --symbols")
        if exchanges is None:
            exchanges = self._from_database(Exchange.objects.filter(enabled=True).values_list("id", flat=True))
            if not exchanges:
                raise CommandError("no exchange is enabled: enable some in admin, or pass --exchanges")
        return symbols, exchanges

    @staticmethod
    def _ingest_config(connector: str, path: str | None) -> IngestConfig | None:
        if connector != "ccxt":
            if path is not None:
                raise CommandError("--ccxt-config applies to --connector ccxt only")
            return None
        return ccxt_config_flag(path, credentials=False)  # order books are public

    @staticmethod
    def _given_symbols(given: list[str] | None) -> list[str] | None:
        if given is None:
            return None
        symbols = [normalize_symbol(s) for s in given]
        for symbol in symbols:
            try:
                validate_symbol(symbol)
            except ValidationError as exc:
                raise CommandError(f"--symbols: {' '.join(exc.messages)}") from None
        return symbols

    @staticmethod
    def _from_database(query: Any) -> list[str]:
        try:
            return [str(value) for value in query]
        except DatabaseError as exc:
            raise CommandError(
                f"cannot read the database ({str(exc).splitlines()[0]}): run `manage.py migrate`, "
                "or pass both --symbols and --exchanges"
            ) from None
