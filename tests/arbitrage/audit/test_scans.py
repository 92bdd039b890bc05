"""Scans reach the audit once each and in order: a retried scan changes nothing, an older
scan delivered after a newer one is recorded as late and never moves an episode back, and
every scan leaves a record with its figures and the gap before it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from arbitrage.audit import ScanOutcome, apply_scan
from arbitrage.models import Episode, ScanRecord
from tests.factories import opportunity

pytestmark = pytest.mark.django_db

T0 = 1_750_000_000_000


def scan(at_ms: int, *found, **fields) -> ScanOutcome:  # type: ignore[no-untyped-def]
    values = {"duration_ms": 12.5, "books_total": 4, "books_used": 3, "books_stale": 1, **fields}
    return ScanOutcome(id=at_ms, opportunities=list(found), **values)


def test_every_scan_leaves_a_record_and_gaps_show():
    assert apply_scan(scan(T0, opportunity())) == "applied"
    assert apply_scan(scan(T0 + 5_000, opportunity())) == "applied"
    assert apply_scan(scan(T0 + 20_000, degraded_reason="no usable book of 4")) == "applied"
    records = list(ScanRecord.objects.order_by("id"))
    assert [r.gap_before_ms for r in records] == [None, 5_000, 15_000]
    assert (records[0].books_used, records[0].books_stale, records[0].opportunities) == (3, 1, 1)
    assert records[2].degraded and records[2].degraded_reason == "no usable book of 4"
    assert records[0].started_at == datetime.fromtimestamp(T0 / 1000, tz=UTC)


def test_a_scan_delivered_twice_counts_once():
    first = scan(T0, opportunity())
    assert apply_scan(first) == "applied"
    assert apply_scan(first) == "duplicate"
    assert Episode.objects.get().times_seen == 1 and ScanRecord.objects.count() == 1


def test_an_older_scan_after_a_newer_one_never_moves_an_episode_back():
    apply_scan(scan(T0, opportunity(net=0.4)))
    apply_scan(scan(T0 + 10_000, opportunity(net=0.9)))
    # The scan of T0 + 5 s, held up in a worker during an outage, arrives last.
    assert apply_scan(scan(T0 + 5_000)) == "late"
    episode = Episode.objects.get()
    assert episode.is_open and episode.times_seen == 2 and episode.net_edge_pct == 0.9
    assert episode.first_seen <= episode.last_seen
    late = ScanRecord.objects.get(pk=T0 + 5_000)
    assert late.status == ScanRecord.Status.LATE


def test_scan_records_are_in_admin_read_only(admin_client):  # type: ignore[no-untyped-def]
    apply_scan(scan(T0, degraded_reason="no book in the store: is ingest running?"))
    page = admin_client.get("/admin/arbitrage/scanrecord/?degraded__exact=1")
    assert page.status_code == 200 and "is ingest running?" in page.content.decode()
    assert admin_client.get(f"/admin/arbitrage/scanrecord/{T0}/delete/").status_code == 403
