"""The simulated market as it runs: a background thread writing batches into a store."""

from __future__ import annotations

import threading

import pytest

from exchanges.connectors.simulated import SimulationConfig, run_simulated_market
from exchanges.store.base import BookStore
from kernel.book import parse_book

from .helpers import RecordingStore

SYMBOLS = ["BTC-USDT", "ETH-USDT", "ETH-BTC"]
EXCHANGES = ["binance", "okx"]


def test_the_demo_entry_point_runs_in_a_thread_until_stopped(store: BookStore) -> None:
    recording = RecordingStore(store)
    stop = threading.Event()
    thread = threading.Thread(
        target=run_simulated_market,
        args=(recording, SYMBOLS, EXCHANGES),
        kwargs={"interval": 0.05, "stop_event": stop, "seed": 1},
        daemon=True,
    )
    thread.start()
    assert recording.wrote.wait(20), "the market never wrote"
    stop.set()
    thread.join(20)
    assert not thread.is_alive()
    # Every store call carries a whole tick: all books, one batch.
    assert recording.batches and all(len(batch) == len(SYMBOLS) * len(EXCHANGES) for batch in recording.batches)
    books = store.read_all().books
    assert {b.key for b in books} == {(e, s) for e in EXCHANGES for s in SYMBOLS}
    for stored in books:
        parse_book(stored.to_dict())


def test_a_duration_bounds_the_run_and_the_summary_counts_books(store: BookStore) -> None:
    summary = run_simulated_market(store, ["SOL-USDT"], ["kraken", "gemini"], interval=0.05, duration=0.3, seed=2)
    assert summary.stats.books_written >= 2 and summary.stats.write_errors == 0
    assert summary.statuses["simulated"].restarts == 0


def test_bad_arguments_fail_before_anything_runs(store: BookStore) -> None:
    with pytest.raises(ValueError, match="not a symbol"):
        run_simulated_market(store, ["BTCUSDT"], EXCHANGES, duration=0.1)
    with pytest.raises(ValueError, match="interval"):
        run_simulated_market(store, SYMBOLS, EXCHANGES, interval=0, duration=0.1)
    with pytest.raises(ValueError, match="venue_noise"):
        run_simulated_market(store, SYMBOLS, EXCHANGES, config=SimulationConfig(venue_noise_cap_bps=50))
