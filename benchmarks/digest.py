"""Telegram digests: building every subscriber's digest, and the send rate under the limits.

- build: 10,000 subscribers with varied filters against 1,000 open episodes (target < 2 s
  for the whole build), with the pure builder the digest run uses (`notifications.digest`).
- send: messages per second the real python-telegram-bot client achieves against the local
  fake Bot API server, paced at Telegram's limits (~30/s overall, 1/s per chat).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from benchmarks import Row

if TYPE_CHECKING:  # the module needs Django set up first
    from arbitrage.filters import OpportunityFilter
    from notifications.digest import EpisodeView

SUBSCRIBERS = 10_000
EPISODES = 1_000
SENDS = 90


def _episodes(rng: random.Random) -> list[EpisodeView]:
    from notifications.digest import EpisodeView

    exchanges = ["binance", "okx", "bybit", "kraken", "kucoin", "gate", "mexc", "htx"]
    symbols = [f"A{i:03d}-USDT" for i in range(150)] + ["BTC-USDT", "ETH-USDT", "ETH-BTC"]
    now = datetime.now(UTC)
    found: list[EpisodeView] = []
    for i in range(EPISODES):
        buy, sell = rng.sample(exchanges, 2)
        triangular = rng.random() < 0.2
        found.append(
            EpisodeView(
                id=i + 1,
                type="triangular" if triangular else "spatial",
                symbol="USDT>BTC>ETH>USDT" if triangular else rng.choice(symbols),
                buy_exchange=buy,
                sell_exchange=buy if triangular else sell,
                exchange=buy if triangular else "",
                path=("USDT", "BTC", "ETH", "USDT") if triangular else (),
                net_edge_pct=rng.uniform(0.1, 2.0),
                expected_profit_usdt=rng.uniform(1, 20),
                available_qty=rng.uniform(0.01, 100),
                optimal_profit_usdt=rng.uniform(1, 40),
                risk_flag=rng.choice(["ok", "ok", "withdraw_fee_unknown", "thin_book"]),
                is_open=True,
                last_seen=now,
            )
        )
    return found


def _filters(rng: random.Random) -> list[OpportunityFilter]:
    from arbitrage.filters import OpportunityFilter

    exchanges = ["binance", "okx", "bybit", "kraken", "kucoin", "gate", "mexc", "htx"]
    symbols = [f"A{i:03d}-USDT" for i in range(150)] + ["BTC-USDT", "ETH-USDT"]
    return [
        OpportunityFilter(
            min_net_edge=rng.choice([0.0, 0.2, 0.5, 1.0]),
            symbol=tuple(rng.sample(symbols, rng.choice([0, 0, 3, 10]))),
            exchange=tuple(rng.sample(exchanges, rng.choice([0, 0, 3, 5]))),
            type=rng.choice([None, None, "spatial", "triangular"]),
            risk="ok" if rng.random() < 0.5 else None,
        )
        for _ in range(SUBSCRIBERS)
    ]


def _build_rows(repeat: int) -> list[Row]:
    from notifications.digest import BestFirst, build_digest

    rng = random.Random(7)
    episodes = _episodes(rng)
    filters = _filters(rng)
    sent: dict[int, float] = {}
    samples = []
    messages = 0
    for _ in range(repeat):
        started = time.perf_counter()
        ordered = BestFirst.of(episodes)
        digests = [build_digest(f, ordered, sent, "http://127.0.0.1:8000/") for f in filters]
        samples.append((time.perf_counter() - started) * 1000)
        messages = sum(d is not None for d in digests)
    note = f"{SUBSCRIBERS:,} subscribers x {EPISODES:,} episodes; {messages:,} digests (target < 2,000 ms)"
    return [Row("digest", "build every digest", min(samples), statistics.median(samples), repeat, note)]


def _send_rows() -> list[Row]:
    from notifications.sender import TelegramSender
    from tests.fakes.telegram import TOKEN, fake_telegram

    with fake_telegram() as fake, TelegramSender(TOKEN, fake.base_url) as sender:
        chats = list(range(1, 61))
        started = time.perf_counter()
        for i in range(SENDS):
            sender.send(chats[i % len(chats)], f"digest {i}")
        elapsed = time.perf_counter() - started
    rate = SENDS / elapsed
    note = f"{rate:.1f} msgs/s to {len(chats)} chats (limit ~30/s overall, 1/s per chat)"
    return [Row("digest", f"send {SENDS} messages to the fake Bot API", elapsed * 1000, elapsed * 1000, 1, note)]


def run(repeat: int) -> list[Row]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-of-sufficient-length")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    return _build_rows(min(repeat, 5)) + _send_rows()
