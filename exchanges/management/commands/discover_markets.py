"""`python manage.py discover_markets`: every spot pair the enabled exchanges list, judged
(exchanges.discovery) and stored as `DiscoveredMarket` rows, which whole-market mode watches.

Markets come from ccxt's public `load_markets`, one exchange per thread. An exchange that
cannot be asked keeps the pairs it was found listing last time: a network blip must not
shrink the market. Admin shows every pair, kept or not, and why.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError, transaction
from django.utils import timezone

from cli.commands import OneLineErrorCommand, csv_list
from exchanges import registry
from exchanges.connectors.base import describe_error
from exchanges.discovery import ExchangeMarkets, Verdict, judge, spot_pairs
from exchanges.fee_sync import make_exchange
from exchanges.management.flags import ccxt_config_flag, exchanges_flag
from exchanges.models import DiscoveredMarket, Exchange

logger = logging.getLogger(__name__)

MAX_PARALLEL = 4


class Command(OneLineErrorCommand):
    help = "Find every spot pair listed on two or more enabled exchanges (via ccxt) for whole-market mode."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--exchanges", type=csv_list, help="comma-separated exchange ids (default: the enabled ones)"
        )
        parser.add_argument(
            "--ccxt-config",
            metavar="FILE",
            help="JSON of per-exchange ccxt constructor config (urls, options); default: CCXT_CONFIG_FILE",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = ccxt_config_flag(options["ccxt_config"], credentials=False)
        exchanges = exchanges_flag(options["exchanges"])
        try:
            if exchanges is None:
                exchanges = [str(e) for e in Exchange.objects.filter(enabled=True).values_list("id", flat=True)]
            before = {row.symbol: set(row.exchanges) for row in DiscoveredMarket.objects.only("symbol", "exchanges")}
        except DatabaseError as exc:
            reason = str(exc).splitlines()[0]
            raise CommandError(f"cannot read the database ({reason}): run `manage.py migrate`") from None
        if not exchanges:
            raise CommandError("no exchange is enabled: enable some in admin, or pass --exchanges")

        def load(exchange_id: str) -> ExchangeMarkets | str:
            try:
                exchange = make_exchange(
                    exchange_id, config.ccxt_config(exchange_id, registry.get(exchange_id).ccxt_config(streaming=False))
                )
                try:
                    markets = exchange.load_markets()
                finally:
                    close = getattr(exchange, "close", None)
                    if callable(close):
                        close()
                return spot_pairs(exchange_id, markets or {})
            except Exception as exc:  # one exchange's failure is reported, never the run's
                return describe_error(exc).splitlines()[0]

        found: list[ExchangeMarkets] = []
        failed: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(exchanges)), thread_name_prefix="discover") as pool:
            for exchange_id, answer in zip(exchanges, pool.map(load, exchanges), strict=True):
                if isinstance(answer, str):
                    failed[exchange_id] = answer
                    kept = {symbol for symbol, names in before.items() if exchange_id in names}
                    found.append(ExchangeMarkets(exchange_id, kept))
                    self.stdout.write(f"{exchange_id}: not reachable ({answer}); keeping its {len(kept)} known pairs")
                    logger.warning("market discovery failed", extra={"exchange": exchange_id, "error": answer})
                    continue
                found.append(answer)
                self.stdout.write(
                    f"{exchange_id}: {len(answer.pairs):,} active spot pairs "
                    f"({answer.derivatives:,} derivatives, {answer.inactive:,} inactive left out)"
                )
        verdicts = judge(found)
        try:
            _store(verdicts)
        except DatabaseError as exc:
            raise CommandError(f"cannot write the discovered pairs ({str(exc).splitlines()[0]})") from None
        kept_count = sum(v.included for v in verdicts)
        single = sum(1 for v in verdicts if not v.included and v.reason.startswith("listed on one"))
        unpriced = len(verdicts) - kept_count - single
        summary = (
            f"kept {kept_count:,} of {len(verdicts):,} pairs ({single:,} on one exchange only, "
            f"{unpriced:,} without a USDT price)"
        )
        self.stdout.write(summary)
        logger.info(
            "market discovery finished",
            extra={"kept": kept_count, "pairs": len(verdicts), "failed": ",".join(failed) or "-"},
        )
        if failed and len(failed) == len(exchanges):
            raise CommandError("no exchange could be asked: " + "; ".join(f"{e}: {why}" for e, why in failed.items()))


def _store(verdicts: list[Verdict]) -> None:
    now = timezone.now()
    rows = [
        DiscoveredMarket(
            symbol=v.symbol, exchanges=list(v.exchanges), included=v.included, reason=v.reason[:200], discovered_at=now
        )
        for v in verdicts
    ]
    with transaction.atomic():
        gone = sorted(set(DiscoveredMarket.objects.values_list("symbol", flat=True)) - {v.symbol for v in verdicts})
        for start in range(0, len(gone), 500):  # SQLite caps a statement's parameters
            DiscoveredMarket.objects.filter(symbol__in=gone[start : start + 500]).delete()
        DiscoveredMarket.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["symbol"],
            update_fields=["exchanges", "included", "reason", "discovered_at"],
        )
