"""The periodic fee sync (Celery beat -> worker, every FEE_SYNC_PERIOD_SEC; 0: not
scheduled, see config/celery.py): `manage.py sync_fees` for each enabled exchange, one
exchange per run of the command, so that whatever goes wrong with one (unreachable, an
answer refused, no API key, a bug) is logged with its name and costs only its own sync.
Values an admin set are kept (no --force). The task never raises: the next period tries
again."""

from __future__ import annotations

import logging
import time
from io import StringIO
from typing import Any

from celery import shared_task
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError

from exchanges.connectors.base import describe_error
from exchanges.models import Exchange, MarketCoverage

logger = logging.getLogger(__name__)


def sync_fees_now() -> dict[str, Any]:
    """One sync of every enabled exchange: {"synced": [ids], "failed": {id: reason}}."""
    started = time.monotonic()
    try:
        exchanges = list(Exchange.objects.filter(enabled=True).values_list("id", flat=True))
    except DatabaseError as exc:
        reason = f"cannot read the exchanges: {describe_error(exc).splitlines()[0]}"
        logger.error("fee sync skipped", extra={"error": reason})
        return {"synced": [], "failed": {}, "error": reason}
    synced: list[str] = []
    failed: dict[str, str] = {}
    for exchange in exchanges:
        try:
            # The command logs each exchange's outcome; its summary line is not needed here.
            call_command("sync_fees", "--exchanges", exchange, stdout=StringIO())
        except CommandError as exc:  # the command's own verdict: nothing published, unreachable...
            failed[exchange] = str(exc)
            logger.warning("fee sync: exchange not synced", extra={"exchange": exchange, "error": str(exc)})
        except Exception as exc:  # a bug must cost one exchange, not the run (nor the worker)
            failed[exchange] = describe_error(exc)
            logger.exception("fee sync crashed", extra={"exchange": exchange})
        else:
            synced.append(exchange)
    logger.log(
        logging.WARNING if failed else logging.INFO,
        "fee sync finished",
        extra={
            "synced": len(synced),
            "failed": ",".join(failed),
            "duration_sec": round(time.monotonic() - started, 1),
        },
    )
    return {"synced": synced, "failed": failed}


@shared_task(name="exchanges.tasks.sync_fees", ignore_result=True)
def sync_fees() -> dict[str, Any]:
    return sync_fees_now()


@shared_task(name="exchanges.tasks.discover_markets", ignore_result=True)
def discover_markets() -> str:
    """The daily discovery, only while an admin chose whole-market coverage: in watchlist
    mode nothing reads its results, and nothing is asked of the exchanges."""
    try:
        if MarketCoverage.current().mode != MarketCoverage.Mode.WHOLE_MARKET:
            return "watchlist mode: nothing to discover"
        out = StringIO()
        call_command("discover_markets", stdout=out)
    except CommandError as exc:
        logger.warning("market discovery failed", extra={"error": str(exc)})
        return str(exc)
    except Exception:  # never the worker's end: the next period tries again
        logger.exception("market discovery crashed")
        return "crashed"
    lines = out.getvalue().strip().splitlines()
    return lines[-1] if lines else ""  # the summary line
