"""What a digest shows a subscriber: filtered, best first, nothing twice unless clearly
better, and a message where every outside value is HTML-escaped."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from arbitrage.filters import OpportunityFilter
from notifications.digest import BestFirst, alerts, build_digest, format_digest, select
from tests.notifications.factories import T0, episode

OK_ONLY = OpportunityFilter(risk="ok")  # what a new subscriber hears

URL = "http://dash.example/?a=1&b=2"


def ids(digest) -> list[int]:  # type: ignore[no-untyped-def]
    return [ep.id for ep in digest.episodes] if digest else []


def test_nothing_new_builds_no_digest():
    assert build_digest(OK_ONLY, [], {}, URL) is None
    assert build_digest(OK_ONLY, [episode(1)], {1: 0.5}, URL) is None


def test_episodes_come_best_first_with_edge_size_profit_route_risk_and_link():
    eps = [episode(1, net_edge_pct=0.2, symbol="ETH-USDT"), episode(2, net_edge_pct=0.9)]
    digest = build_digest(OK_ONLY, eps, {}, URL)
    assert digest is not None and ids(digest) == [2, 1]
    text = digest.text
    assert "2 new or better" in text
    assert "<b>BTC-USDT</b> binance → okx" in text
    assert "net <b>0.900%</b> · 0.0123 BTC for 5.00 USDT profit · best 7.50 USDT · no risk flag" in text
    assert '<a href="http://dash.example/?a=1&amp;b=2">Open the dashboard</a>' in text


def test_triangular_route_shows_exchange_and_path_once_with_its_variants_and_units():
    cycle = ("USDT", "BTC", "ETH", "USDT")
    ep = episode(1, type="triangular", exchange="kraken", path=cycle, symbol=">".join(cycle),
                 variants=4, available_qty=1000.0, optimal_qty=2500.0)  # fmt: skip
    digest = build_digest(OK_ONLY, [ep], {}, URL)
    assert digest is not None
    assert "<b>kraken</b> cycle USDT → BTC → ETH → USDT (best of 4 cycles from one mispricing)" in digest.text
    assert "USDT>BTC>ETH>USDT" not in digest.text
    assert "1000 USDT for 5.00 USDT profit · best 7.50 USDT at 2500 USDT" in digest.text


def test_a_spatial_line_names_its_network_and_its_flags_in_words():
    ep = episode(
        1, transfer_network="BEP20", risk_flag="route_unverified", risk_flags=("route_unverified", "thin_book")
    )
    text = format_digest([ep], 1, URL)
    assert "<b>BTC-USDT</b> binance → okx via BEP20" in text and "⚠ route unverified, thin book" in text


def test_open_opportunities_lead_and_ended_ones_follow_in_a_short_tail():
    ended = episode(1, net_edge_pct=2.0, is_open=False, last_seen=T0)
    live = episode(2, net_edge_pct=0.5, symbol="ETH-USDT")
    digest = build_digest(OpportunityFilter(), [ended, live], {}, URL, since=T0 - timedelta(seconds=1))
    assert digest is not None and ids(digest) == [2, 1]
    text = digest.text
    assert (
        text.index("1. <b>ETH-USDT</b>")
        < text.index("Ended since:")
        < text.index("BTC-USDT binance → okx, last 2.000%")
    )


def test_one_line_per_symbol_with_the_best_route_first_and_the_others_counted():
    routes = [episode(i, net_edge_pct=1 - i / 100, sell_exchange=f"venue{i}") for i in range(1, 14)]
    other = episode(20, symbol="ETH-USDT", net_edge_pct=0.95)
    digest = build_digest(OK_ONLY, [*routes, other], {}, URL)
    assert digest is not None
    text = digest.text
    assert "2 new or better" in text
    assert text.index("1. <b>BTC-USDT</b> binance → venue1") < text.index("2. <b>ETH-USDT</b>")
    assert "also 12 other routes: binance → venue2 0.980%, binance → venue3 0.970% and 10 more" in text
    assert text.count("BTC-USDT") == 1
    # Every route is recorded as told, so none comes back as news on its own.
    assert sorted(ids(digest)) == [*range(1, 14), 20]


def test_instant_mode_sends_one_alert_per_new_group_and_not_again_for_a_route_that_comes_and_goes():
    f = OpportunityFilter()
    first = [episode(1, net_edge_pct=0.9), episode(2, net_edge_pct=0.8, sell_exchange="kraken")]
    tri = episode(3, type="triangular", exchange="okx", path=("USDT", "BTC", "ETH", "USDT"), variants=7)
    messages = alerts(f, [*first, tri], {}, URL)
    assert [ids(m) for m in messages] == [[1, 2], [3]]
    assert all(m.text.startswith("<b>Arbitrage alert</b> · 1 new or better") for m in messages)
    told = {1: 0.9, 2: 0.8, 3: 0.5}
    # A third route appears in the BTC-USDT group, below the best already told: no message.
    later = [*first, episode(4, net_edge_pct=0.7, sell_exchange="gate"), tri]
    assert alerts(f, later, told, URL) == []
    # The group's best gets clearly better: one message, recording only what changed.
    better = [episode(1, net_edge_pct=1.3), *later[1:]]
    [message] = alerts(f, better, told, URL)
    assert ids(message) == [1, 4] and "net <b>1.300%</b>" in message.text


def test_filters_pick_edge_type_risk_symbol_and_exchange_as_everywhere_else():
    eps = [
        episode(1, net_edge_pct=0.05),
        episode(2, type="triangular", exchange="okx", path=("USDT", "BTC", "ETH", "USDT")),
        episode(3, risk_flag="extreme_edge"),
        episode(4, symbol="ETH-USDT"),
        episode(5, buy_exchange="kraken", sell_exchange="gate"),
        episode(6),
        episode(7, sell_exchange="kraken"),
    ]
    f = OpportunityFilter.parse(
        {"min_net_edge": 0.1, "type": "spatial", "symbol": "BTC-USDT", "exchange": "okx", "risk": "ok"}
    )
    assert ids(build_digest(f, eps, {}, URL)) == [6]
    # An exchange filter means "buys, sells or cycles on one of them", as on the WebSocket.
    assert sorted(ids(build_digest(OpportunityFilter.parse({"exchange": "kraken"}), eps, {}, URL))) == [5, 7]
    assert sorted(ids(build_digest(OpportunityFilter.parse({"symbol": "ETH"}), eps, {}, URL))) == [2, 4]
    assert sorted(ids(build_digest(OpportunityFilter(), eps, {}, URL))) == [1, 2, 3, 4, 5, 6, 7]


def test_an_episode_sent_before_returns_only_when_clearly_better():
    sent = {1: 0.5}
    assert build_digest(OK_ONLY, [episode(1, net_edge_pct=0.6)], sent, URL) is None
    assert ids(build_digest(OK_ONLY, [episode(1, net_edge_pct=0.63)], sent, URL)) == [1]


def test_closed_episodes_count_only_when_seen_since_the_last_digest():
    closed = episode(1, is_open=False, last_seen=T0)
    assert build_digest(OK_ONLY, [closed], {}, URL, since=T0) is None
    digest = build_digest(OK_ONLY, [closed], {}, URL, since=T0 - timedelta(seconds=1))
    assert digest is not None and "Ended since:" in digest.text


def test_a_long_digest_shows_the_best_ten_and_counts_the_rest():
    eps = [episode(i, net_edge_pct=i / 10, symbol=f"A{i}-USDT") for i in range(1, 16)]
    digest = build_digest(OK_ONLY, eps, {}, URL)
    assert digest is not None and ids(digest) == list(range(15, 5, -1))
    assert "… and 5 more" in digest.text


def test_symbols_and_flags_that_look_like_html_are_escaped():
    ep = episode(1, symbol="<b>&X-USDT", risk_flag='a"<i>', buy_exchange="b&b")
    text = format_digest([ep], 1, 'http://x/"><script>')
    assert "&lt;b&gt;&amp;X-USDT" in text and "a&quot;&lt;i&gt;" in text and "b&amp;b → okx" in text
    assert "<script>" not in text and 'href="http://x/&quot;&gt;&lt;script&gt;"' in text


ALLOWED_TAGS = re.compile(r"</?b>|<a href=\"[^\"<>]*\">|</a>")


@given(
    symbol=st.text(min_size=1, max_size=64),
    flag=st.text(min_size=1, max_size=32),
    exchange=st.text(min_size=1, max_size=32),
    url=st.text(max_size=80),
)
def test_any_outside_text_leaves_only_our_own_tags(symbol: str, flag: str, exchange: str, url: str):
    text = format_digest([episode(1, symbol=symbol, risk_flag=flag, sell_exchange=exchange)], 1, url)
    stripped = ALLOWED_TAGS.sub("", text)
    assert "<" not in stripped and ">" not in stripped
    # What the subscriber reads after Telegram unescapes it is the raw value.
    shown = html.unescape(stripped)
    assert symbol in shown and (flag.replace("_", " ") in shown if flag != "ok" else "no risk flag" in shown)


@given(
    edges=st.lists(st.floats(-1, 3, allow_nan=False), max_size=30),
    min_edge=st.floats(-1, 3, allow_nan=False),
    sent_edges=st.dictionaries(st.integers(0, 29), st.floats(-1, 3, allow_nan=False)),
    flags=st.lists(st.sampled_from(["ok", "thin_book"]), min_size=30, max_size=30),
)
def test_sorting_once_for_many_subscribers_selects_exactly_the_same(
    edges: list[float], min_edge: float, sent_edges: dict[int, float], flags: list[str]
):
    eps = [episode(i, net_edge_pct=e, risk_flag=flags[i]) for i, e in enumerate(edges)]
    f = OpportunityFilter(min_net_edge=min_edge, risk="ok" if flags[0] == "ok" else None)
    assert select(f, BestFirst.of(reversed(eps)), sent_edges) == select(f, eps, sent_edges)
