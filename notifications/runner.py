"""One digest run: every active subscriber gets what is new for them, at most once.

Runs overlap (a run held up by a flood wait, the next period's run, the instant run), so
each run first claims its subscribers: a subscriber another run is serving is skipped,
and what was already sent is read after the claim. The delivery rows are written before
each send and confirmed after it. A run that dies in between leaves unconfirmed rows, and
the next run treats them as sent: a subscriber may miss one message after a crash but is
never told the same thing twice; its claim expires after CLAIM_SEC. A send that definitely
failed removes its rows again so the next run tries once more.

When the scans are degraded (no usable book, or most books unusable) subscribers are told
so once per degraded streak, and told again when the data is back, rather than the bot
going quiet with no explanation."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from arbitrage.models import Episode
from arbitrage.runtime.feed import ScanStatus
from arbitrage.runtime.status import latest_status
from exchanges.store.base import StoreUnavailable
from notifications.digest import (
    BestFirst,
    Digest,
    EpisodeView,
    alerts,
    build_digest,
    degraded_notice,
    recovered_notice,
)
from notifications.models import Delivery, Subscriber
from notifications.sender import Outcome

log = logging.getLogger(__name__)

# The columns EpisodeView reads: its own fields that are columns, and the details it takes
# flags, network and variants from.
EPISODE_FIELDS = [
    f for f in EpisodeView.__dataclass_fields__ if f not in ("id", "risk_flags", "transfer_network", "variants")
] + ["details"]
# How long a claim on a subscriber outlives a run that died while serving it.
CLAIM_SEC = 900


class Sender(Protocol):
    def send(self, chat_id: int, text: str) -> Outcome: ...


@dataclass
class RunReport:
    subscribers: int = 0
    messages_sent: int = 0
    blocked: int = 0
    failed: int = 0
    outcomes: dict[int, list[Outcome]] = field(default_factory=lambda: defaultdict(list))  # by chat id


def load_episodes(since: datetime) -> list[EpisodeView]:
    rows = Episode.objects.filter(Q(is_open=True) | Q(last_seen__gt=since)).only(*EPISODE_FIELDS)
    return [EpisodeView.from_row(row) for row in rows]


def load_sent(subscriber_ids: Sequence[int], episode_ids: Sequence[int]) -> dict[int, dict[int, float]]:
    """The best edge each subscriber was told of each episode (confirmed or not)."""
    sent: dict[int, dict[int, float]] = defaultdict(dict)
    rows = (
        Delivery.objects.filter(subscriber_id__in=subscriber_ids, episode_id__in=episode_ids)
        .values("subscriber_id", "episode_id")
        .annotate(edge=Max("net_edge_pct"))
    )
    for row in rows:
        sent[row["subscriber_id"]][row["episode_id"]] = row["edge"]
    return sent


ALERT_TITLE = "Arbitrage alert"  # instant mode: one opportunity, now


def messages_for(
    sub: Subscriber, episodes: Iterable[EpisodeView] | BestFirst, sent: dict[int, float], dashboard_url: str
) -> list[Digest]:
    filters = sub.opportunity_filter()
    since = sub.last_digest_at or sub.created_at
    if sub.mode == Subscriber.Mode.INSTANT:
        # One message per group: a subscriber who asked for instant wants each on its own.
        return alerts(filters, episodes, sent, dashboard_url, since, title=ALERT_TITLE)
    digest = build_digest(filters, episodes, sent, dashboard_url, since)
    return [digest] if digest else []


def deliver(sender: Sender, sub: Subscriber, digest: Digest) -> Outcome | None:
    """Send one message, its delivery rows written first. None: an overlapping run (a slow
    worker and the next beat tick) already claimed these rows and sends it; nothing sent."""
    try:
        with transaction.atomic():
            # The unique (subscriber, episode, edge) row is the claim: only one run gets it.
            Delivery.objects.bulk_create(
                [Delivery(subscriber=sub, episode_id=ep.id, net_edge_pct=ep.net_edge_pct) for ep in digest.episodes]
            )
    except IntegrityError:
        log.info("digest already claimed by another run", extra={"chat_id": sub.chat_id})
        return None
    outcome = sender.send(sub.chat_id, digest.text)
    # Exactly this message's rows: an unconfirmed row of an earlier, crashed run stays.
    these = Q()
    for ep in digest.episodes:
        these |= Q(episode_id=ep.id, net_edge_pct=ep.net_edge_pct)
    pending = Delivery.objects.filter(these, subscriber=sub, sent_at__isnull=True)
    if outcome is Outcome.SENT:
        pending.update(sent_at=timezone.now())
    else:
        pending.delete()
    return outcome


SENDING_MODES = (Subscriber.Mode.DIGEST, Subscriber.Mode.INSTANT)


def claim(modes: Sequence[str]) -> tuple[str, list[Subscriber]]:
    """This run's subscribers: the active ones in `modes` no other run is serving now."""
    token = uuid.uuid4().hex
    now = timezone.now()
    free = Q(send_claim="") | Q(sending_until__lt=now)
    Subscriber.objects.filter(free, is_active=True, mode__in=list(modes)).update(
        send_claim=token, sending_until=now + timedelta(seconds=CLAIM_SEC)
    )
    return token, list(Subscriber.objects.filter(send_claim=token).order_by("pk"))


def _scan_status() -> ScanStatus | None:
    try:
        return latest_status()
    except StoreUnavailable:
        return None  # unknown: say nothing about the data rather than something wrong


def _notice(sender: Sender, sub: Subscriber, status: ScanStatus | None) -> Outcome | None:
    """Tell a subscriber the data went degraded (once per streak) or came back; None when
    there is nothing to say."""
    if status is None:
        return None
    if status.degraded and sub.degraded_notice_since != status.degraded_since:
        outcome = sender.send(sub.chat_id, degraded_notice(status.degraded_reason, status.degraded_since or status.ts))
        if outcome is Outcome.SENT:
            Subscriber.objects.filter(pk=sub.pk).update(degraded_notice_since=status.degraded_since)
        return outcome
    if not status.degraded and sub.degraded_notice_since is not None:
        outcome = sender.send(sub.chat_id, recovered_notice())
        if outcome is Outcome.SENT:
            Subscriber.objects.filter(pk=sub.pk).update(degraded_notice_since=None)
        return outcome
    return None


def run_digests(sender: Sender, now: datetime | None = None, modes: Sequence[str] = SENDING_MODES) -> RunReport:
    """One run for the active subscribers in `modes` (the instant run, every few seconds,
    serves instant ones; the digest period's run, digest ones)."""
    now = now or timezone.now()
    dashboard_url = settings.DASHBOARD_URL
    report = RunReport()
    token, subs = claim(modes)
    try:
        if subs:
            _serve(sender, subs, now, dashboard_url, report)
    finally:
        # Every claim of this run ends with it (served or not).
        Subscriber.objects.filter(send_claim=token).update(send_claim="", sending_until=None)
    log.info(
        "digest run done",
        extra={
            "modes": ",".join(modes),
            "subscribers": report.subscribers,
            "sent": report.messages_sent,
            "blocked": report.blocked,
            "failed": report.failed,
        },
    )
    return report


def _serve(sender: Sender, subs: list[Subscriber], now: datetime, dashboard_url: str, report: RunReport) -> None:
    since = min(sub.last_digest_at or sub.created_at for sub in subs)
    episodes = BestFirst.of(load_episodes(since))
    # Read after the claim: what another run sent before it let go is counted.
    sent = load_sent([sub.pk for sub in subs], [ep.id for ep in episodes.episodes])
    status = _scan_status()
    for sub in subs:
        report.subscribers += 1
        outcome = _notice(sender, sub, status) or Outcome.SENT
        if outcome is Outcome.SENT:
            for digest in messages_for(sub, episodes, sent.get(sub.pk, {}), dashboard_url):
                result = deliver(sender, sub, digest)
                if result is None:
                    continue
                outcome = result
                report.outcomes[sub.chat_id].append(outcome)
                if outcome is not Outcome.SENT:
                    break
                report.messages_sent += 1
        done = {"send_claim": "", "sending_until": None}
        if outcome is Outcome.BLOCKED:
            report.blocked += 1
            Subscriber.objects.filter(pk=sub.pk).update(
                is_active=False, deactivated_reason=f"blocked the bot ({now:%Y-%m-%d %H:%M} UTC)", **done
            )
            log.info("subscriber blocked the bot: deactivated", extra={"chat_id": sub.chat_id})
        elif outcome is Outcome.FAILED:
            # Keep last_digest_at: what was not said is still new next run.
            report.failed += 1
            Subscriber.objects.filter(pk=sub.pk).update(**done)
        else:
            Subscriber.objects.filter(pk=sub.pk).update(last_digest_at=now, **done)
