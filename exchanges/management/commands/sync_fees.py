"""`python manage.py sync_fees`: taker and withdrawal fees from the exchanges that publish them.

    manage.py sync_fees [--exchanges binance,okx] [--assets BTC,ETH,USDT]
        [--ccxt-config FILE.json] [--force]

For each exchange (default: the enabled ones) it asks ccxt (exchanges/fee_sync.py) and
writes `Exchange.taker_fee_bps` and one `WithdrawalFee` row per asset and network (fee,
deposits and withdrawals enabled), for the assets of the enabled watchlist unless
`--assets` names others. A value an admin set by hand (`Exchange.fee_set_by_admin`,
`WithdrawalFee.set_by_admin`) is kept unless `--force`, which overwrites it and clears
the flag. Rows the exchange no longer lists are left alone.

Endpoints and API keys are configuration: `--ccxt-config` (or the CCXT_CONFIG_FILE setting) is the
ingest command's file, each exchange's entry deep-merged into its ccxt constructor config
(`apiKey`, `secret`, `password` go there too: most fee endpoints are private).

Exchanges are asked in parallel and written one by one, each in its own transaction; one
failing never stops the others. Progress goes to the log, a summary line to stdout, and
the exit status is 1 when an exchange could not be synced at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError, transaction
from django.utils import timezone

from cli.commands import OneLineErrorCommand, csv_list
from exchanges import registry
from exchanges.connectors.base import describe_error
from exchanges.fee_sync import FeeFetchError, PublishedFees, fetch_published_fees
from exchanges.management.flags import ccxt_config_flag, exchanges_flag
from exchanges.models import Exchange, WatchedSymbol, WithdrawalFee, validate_asset
from kernel.ids import normalize_asset

logger = logging.getLogger("exchanges.sync_fees")

MAX_PARALLEL = 8


@dataclass(slots=True)
class Outcome:
    """What one exchange's sync did, for its log line and the summary."""

    exchange: str
    error: str | None = None
    taker: str = "-"  # updated | unchanged | kept (admin) | not published
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0
    no_fee: int = 0  # networks with flags but no published fee: no row to create
    problems: list[str] = field(default_factory=list)


class Command(OneLineErrorCommand):
    help = "Fill taker fees and per-network withdrawal fees from the exchanges that publish them (via ccxt)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--exchanges", type=csv_list, help="comma-separated exchange ids (default: the enabled ones)"
        )
        parser.add_argument("--assets", type=csv_list, help="comma-separated assets (default: those of the watchlist)")
        parser.add_argument(
            "--ccxt-config",
            metavar="FILE",
            help="JSON of per-exchange ccxt constructor config (urls, options); default: CCXT_CONFIG_FILE. "
            "API keys come from admin (exchange API credentials)",
        )
        parser.add_argument("--force", action="store_true", help="also overwrite values an admin set by hand")

    def handle(self, *args: Any, **options: Any) -> None:
        exchanges = exchanges_flag(options["exchanges"])
        assets = self._given_assets(options["assets"])
        config = ccxt_config_flag(options["ccxt_config"], credentials=True)
        try:
            rows = {row.id: row for row in Exchange.objects.all()}
            if exchanges is None:
                exchanges = [exchange_id for exchange_id, row in rows.items() if row.enabled]
            symbols = list(WatchedSymbol.objects.filter(enabled=True).values_list("symbol", flat=True))
        except DatabaseError as exc:
            raise CommandError(
                f"cannot read the database ({str(exc).splitlines()[0]}): run `manage.py migrate`"
            ) from None
        missing = [e for e in exchanges if e not in rows]
        if missing:
            raise CommandError(f"--exchanges: not in the database: {', '.join(missing)} (add them in admin)")
        if not exchanges:
            raise CommandError("no exchange is enabled: enable some in admin, or pass --exchanges")
        if assets is None:
            assets = sorted({asset for symbol in symbols for asset in symbol.split("-")})
            if not assets:
                raise CommandError("the watchlist has no enabled symbol: enable some in admin, or pass --assets")

        logger.info(
            "fee sync started",
            extra={"exchanges": ",".join(exchanges), "assets": len(assets), "force": options["force"]},
        )

        def ask(exchange_id: str) -> PublishedFees | FeeFetchError:
            logger.info("asking for fees", extra={"exchange": exchange_id})
            try:
                ccxt_config = config.ccxt_config(exchange_id, registry.get(exchange_id).ccxt_config(streaming=False))
                return fetch_published_fees(exchange_id, ccxt_config, symbols, assets)
            except FeeFetchError as exc:
                return exc
            except Exception as exc:  # a bug must cost one exchange, not the run
                logger.exception("fee fetch crashed", extra={"exchange": exchange_id})
                return FeeFetchError(describe_error(exc))

        outcomes: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(exchanges)), thread_name_prefix="sync-fees") as pool:
            # Database writes stay on this thread, in order, as each answer arrives.
            for exchange_id, answer in zip(exchanges, pool.map(ask, exchanges), strict=True):
                outcomes.append(self._record(exchange_id, answer, assets, options["force"]))

        failed = [o for o in outcomes if o.error]
        self.stdout.write(_summary(outcomes))
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(outcomes)} exchange(s) not synced: "
                + "; ".join(f"{o.exchange}: {o.error}" for o in failed)
            )

    def _record(
        self, exchange_id: str, answer: PublishedFees | FeeFetchError, assets: Sequence[str], force: bool
    ) -> Outcome:
        outcome = Outcome(exchange_id)
        if isinstance(answer, FeeFetchError):
            outcome.error = str(answer)
        elif not answer.found_anything:
            outcome.problems = answer.problems
            outcome.error = "nothing published: " + ("; ".join(answer.problems) or "no fee data")
        else:
            outcome.problems = answer.problems
            try:
                _apply(answer, outcome, assets, force)
            except DatabaseError as exc:
                outcome.error = f"database write failed: {str(exc).splitlines()[0]}"
        if outcome.error:
            logger.error("fee sync failed", extra={"exchange": exchange_id, "error": outcome.error})
            return outcome
        for problem in outcome.problems:
            logger.warning("fee data incomplete", extra={"exchange": exchange_id, "problem": problem})
        logger.info(
            "fees synced",
            extra={
                "exchange": exchange_id,
                "taker": outcome.taker,
                "taker_fee_bps": answer.taker_fee_bps if isinstance(answer, PublishedFees) else None,
                "withdrawal_fees_created": outcome.created,
                "withdrawal_fees_updated": outcome.updated,
                "withdrawal_fees_unchanged": outcome.unchanged,
                "kept_admin_values": outcome.kept,
                "networks_without_fee": outcome.no_fee,
            },
        )
        return outcome

    @staticmethod
    def _given_assets(given: list[str] | None) -> list[str] | None:
        if given is None:
            return None
        assets = list(dict.fromkeys(normalize_asset(a) for a in given))
        for asset in assets:
            try:
                validate_asset(asset)
            except ValidationError:
                raise CommandError(f"--assets: {asset!r} is not an asset code (letters and digits, e.g. BTC)") from None
        return assets


def _apply(published: PublishedFees, outcome: Outcome, assets: Sequence[str], force: bool) -> None:
    with transaction.atomic():
        # Locked rows: an admin saving at the same moment either lands first (and is kept)
        # or waits for this write and then wins.
        exchange = Exchange.objects.select_for_update().get(pk=published.exchange)
        if published.taker_fee_bps is None:
            outcome.taker = "not published"
        elif exchange.fee_set_by_admin and not force:
            outcome.taker = "kept (set by admin)"
        elif exchange.taker_fee_bps == published.taker_fee_bps and not exchange.fee_set_by_admin:
            outcome.taker = "unchanged"
        else:
            exchange.taker_fee_bps = published.taker_fee_bps
            exchange.fee_set_by_admin = False
            exchange.save(update_fields=["taker_fee_bps", "fee_set_by_admin", "updated_at"])
            outcome.taker = "updated"

        rows = WithdrawalFee.objects.select_for_update().filter(exchange=exchange, asset__in=assets)
        existing = {(row.asset, row.network): row for row in rows}
        confirmed: list[int] = []  # unchanged rows: their age is that of this sync
        for network in published.networks:
            row = existing.get((network.asset, network.network))
            if row is not None and row.set_by_admin and not force:
                outcome.kept += 1
                continue
            if row is None:
                if network.fee is None:
                    outcome.no_fee += 1
                    continue
                WithdrawalFee.objects.create(
                    exchange=exchange,
                    asset=network.asset,
                    network=network.network,
                    fee=network.fee,
                    withdrawals_enabled=network.withdrawals_enabled is not False,
                    deposits_enabled=network.deposits_enabled is not False,
                    contract=network.contract or "",
                )
                outcome.created += 1
                continue
            changes = {
                "fee": network.fee,
                "withdrawals_enabled": network.withdrawals_enabled,
                "deposits_enabled": network.deposits_enabled,
                "contract": network.contract,
            }
            changed = [name for name, value in changes.items() if value is not None and getattr(row, name) != value]
            if row.set_by_admin:
                changed.append("set_by_admin")
            if not changed:
                outcome.unchanged += 1
                confirmed.append(row.pk)
                continue
            for name in changed:
                setattr(row, name, changes.get(name, False))  # set_by_admin: cleared by --force
            row.save(update_fields=[*changed, "updated_at"])
            outcome.updated += 1
        # updated_at is when the data was last known good: a sync that finds a row as it was
        # confirms it (admin, API and the health panel show its age).
        WithdrawalFee.objects.filter(pk__in=confirmed).update(updated_at=timezone.now())


def _summary(outcomes: Sequence[Outcome]) -> str:
    synced = [o for o in outcomes if not o.error]
    failed = [o for o in outcomes if o.error]
    takers = [o.taker for o in synced]
    return (
        f"sync_fees: {len(synced)} of {len(outcomes)} exchange(s) synced"
        + (f", failed: {', '.join(o.exchange for o in failed)}" if failed else "")
        + f"; taker fees updated {takers.count('updated')}, kept as set by admin {takers.count('kept (set by admin)')}"
        + f"; withdrawal fees created {sum(o.created for o in synced)}, updated {sum(o.updated for o in synced)}, "
        + f"unchanged {sum(o.unchanged for o in synced)}, kept as set by admin {sum(o.kept for o in synced)}"
    )
