"""Episodes in admin, for daily work: a list that fits a 1440 px screen (the route in one
column, edges rounded, times to the second, how long each lasted), the detail of one with
its books as a table and only the prices its type has, a link to what Telegram sent
about it, and the filtered list as CSV."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from arbitrage.admin.audit import AuditAdmin
from arbitrage.models import Episode

SPATIAL_ONLY = ("buy_exchange", "sell_exchange", "buy_vwap", "sell_vwap")
TRIANGULAR_ONLY = ("exchange", "path")
CSV_FIELDS = (
    "id", "type", "symbol", "buy_exchange", "sell_exchange", "exchange", "path", "is_open", "first_seen",
    "last_seen", "closed_at", "times_seen", "net_edge_pct", "peak_net_edge_pct", "gross_edge_pct", "fees_pct",
    "slippage_pct", "withdraw_pct", "expected_profit_usdt", "optimal_qty", "optimal_profit_usdt",
    "available_qty", "buy_vwap", "sell_vwap", "risk_flag",
)  # fmt: skip


def seconds(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def lasted(episode: Episode) -> str:
    span = int(((episode.closed_at or episode.last_seen) - episode.first_seen).total_seconds())
    hours, rest = divmod(max(0, span), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def route(episode: Episode) -> str:
    if episode.type == "triangular":
        return f"{episode.exchange}: {' → '.join(episode.path or [])}"
    return f"{episode.symbol}  {episode.buy_exchange} → {episode.sell_exchange}"


@admin.register(Episode)
class EpisodeAdmin(AuditAdmin):
    list_display = (
        "route_shown",
        "net_edge",
        "peak_edge",
        "profit",
        "risk_flag",
        "is_open",
        "first_seen_shown",
        "lasted_shown",
        "times_seen",
    )
    list_display_links = ("route_shown",)
    list_filter = ("type", "is_open", "risk_flag", "buy_exchange", "sell_exchange", "exchange", "first_seen")
    search_fields = ("symbol", "buy_exchange", "sell_exchange", "exchange", "key")
    date_hierarchy = "first_seen"
    ordering = ("-last_seen",)
    list_per_page = 50
    actions = ["export_csv"]

    class Media:
        css = {"all": ("arbitrage/admin/episodes.css",)}

    # --- the list ------------------------------------------------------------------------

    @admin.display(description="opportunity", ordering="symbol")
    def route_shown(self, obj: Episode) -> str:
        return route(obj)

    @admin.display(description="net edge", ordering="net_edge_pct")
    def net_edge(self, obj: Episode) -> str:
        return f"{obj.net_edge_pct:.3f} %"

    @admin.display(description="peak", ordering="peak_net_edge_pct")
    def peak_edge(self, obj: Episode) -> str:
        return f"{obj.peak_net_edge_pct:.3f} %"

    @admin.display(description="profit (USDT)", ordering="expected_profit_usdt")
    def profit(self, obj: Episode) -> str:
        return f"{obj.expected_profit_usdt:,.2f}"

    @admin.display(description="first seen (UTC)", ordering="first_seen")
    def first_seen_shown(self, obj: Episode) -> str:
        return seconds(obj.first_seen)

    @admin.display(description="lasted")
    def lasted_shown(self, obj: Episode) -> str:
        return lasted(obj)

    # --- one episode -----------------------------------------------------------------------

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        hidden = TRIANGULAR_ONLY if obj is None or obj.type == "spatial" else SPATIAL_ONLY
        fields = [f.name for f in Episode._meta.fields if f.name not in (*hidden, "details", "id")]
        return [*fields, "lasted_shown", "risk_flags", "leg_prices", "evidence", "deliveries"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)

    @admin.display(description="risk flags")
    def risk_flags(self, obj: Episode) -> str:
        return ", ".join((obj.details or {}).get("risk_flags") or []) or "ok"

    @admin.display(description="leg prices")
    def leg_prices(self, obj: Episode) -> str:
        prices = (obj.details or {}).get("leg_prices") or []
        return " → ".join(f"{price:g}" for price in prices) or "-"

    @admin.display(description="books (evidence)")
    def evidence(self, obj: Episode) -> SafeString:
        rows: Iterable[dict[str, Any]] = (obj.details or {}).get("evidence") or []
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    row.get("exchange"),
                    row.get("symbol"),
                    seconds(dt.datetime.fromtimestamp(row.get("ts_event", 0) / 1000, dt.UTC)),
                    row.get("lag_ms"),
                    "-" if row.get("seq_id") is None else row.get("seq_id"),
                    {True: "ok", False: "failed", None: "-"}.get(row.get("checksum_ok"), "-"),
                )
                for row in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>exchange</th><th>symbol</th><th>book time (UTC)</th><th>lag</th>"
            "<th>sequence</th><th>checksum</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="Telegram")
    def deliveries(self, obj: Episode) -> SafeString:
        url = reverse("admin:notifications_delivery_changelist") + f"?episode__id__exact={obj.pk}"
        return format_html('<a href="{}">messages sent about this episode</a>', url)

    # --- export ----------------------------------------------------------------------------

    @admin.action(description="Export selected episodes as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Episode]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="episodes.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_FIELDS)
        for episode in queryset.order_by("first_seen").iterator():
            values = [getattr(episode, name) for name in CSV_FIELDS]
            writer.writerow(["→".join(v) if isinstance(v, list) else v for v in values])
        return response
