"""WebSocket fan-out benchmark: from the end of a scan to a client's receipt of its message.

`websocket_rows()` starts the embedded app in a subprocess (uvicorn serving
config.asgi.application, the in-memory channel layer, a throwaway SQLite database: what
`make demo` runs), connects 1, 100 and 1,000 authenticated clients from this process, and
has the server publish scans the way the demo's scan timer does: `publish_scan`
from a worker thread into the event loop's channel layer. The clock starts just before
publish (the scan's result is ready) and stops when a client's socket hands it the message.
Clients ask for permessage-deflate as browsers do. A last phase publishes back to back and
counts the messages delivered per second.

Server and clients share the machine: on two cores the client side's own work is part of
the numbers, so they overstate what a server alone would add.

Run alone: `python -m benchmarks.websocket [CLIENTS ...]`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests import free_port

ROOT = Path(__file__).resolve().parents[1]
TS_RE = re.compile(r'"ts":\s*(\d+)')
ITEMS_PER_SCAN = 50

# --- the server subprocess ------------------------------------------------------------------


def _items(count: int, ts: int) -> list[dict[str, Any]]:
    """`count` realistic opportunities (every field, two books of evidence each)."""
    from arbitrage.engine.types import BookEvidence, Opportunity

    exchanges = ("binance", "okx", "bybit", "kraken", "kucoin", "gate", "htx", "mexc")
    items = []
    for i in range(count):
        buy, sell = exchanges[i % len(exchanges)], exchanges[(i + 3) % len(exchanges)]
        symbol = f"A{i:03d}-USDT"
        items.append(
            Opportunity(
                type="spatial",
                symbol=symbol,
                buy_exchange=buy,
                sell_exchange=sell,
                buy_vwap=100.0 + i,
                sell_vwap=101.0 + i,
                gross_edge_pct=1.0,
                net_edge_pct=0.5 + i / 100,
                expected_profit_usdt=5.0,
                available_qty=10.0 / (1 + i),
                risk_flag="ok",
                ts_detected=ts,
                fees_pct=0.2,
                slippage_pct=0.05,
                withdraw_pct=0.01,
                optimal_qty=12.5,
                optimal_profit_usdt=6.25,
                risk_flags=[],
                evidence=[BookEvidence(name, symbol, ts - 40, ts - 10, 30, 123456, True) for name in (buy, sell)],
            ).as_dict()
        )
    return items


def diff_bytes(count: int = 1000, changed_share: float = 0.01) -> tuple[int, int, float]:
    """(bytes of a full scan message, bytes of the diff from the previous scan, ms to make
    the diff) when `changed_share` of `count` rows changed their edge and the rest moved only
    their detection time and evidence, as a quiet market does from scan to scan."""
    from dataclasses import replace

    from arbitrage.engine.types import Opportunity
    from arbitrage.runtime.feed import ScanMessage
    from live.diffs import encode_diff, keyed

    ts = 1_750_000_000_000
    first = [Opportunity.from_dict(item) for item in _items(count, ts)]
    step = max(1, round(1 / changed_share))
    second = [
        replace(o, ts_detected=ts + 5000, net_edge_pct=o.net_edge_pct + (0.1 if i % step == 0 else 0.0))
        for i, o in enumerate(first)
    ]
    before = ScanMessage.of(ts, first)
    after = ScanMessage.of(ts + 5000, second, before)
    full = len(after.encode())
    old, new = keyed(before.items), keyed(after.items)
    assert old is not None and new is not None
    started = time.perf_counter()
    diff = len(encode_diff(after.ts, before.ts, old, new))
    return full, diff, (time.perf_counter() - started) * 1000


def _serve(port: int) -> None:
    """Subprocess entry: serve, then publish scans on command (JSON lines on stdin)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import AccessToken

    call_command("migrate", interactive=False, verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    token = str(AccessToken.for_user(user))
    asyncio.run(_serve_async(port, token))


async def _serve_async(port: int, token: str) -> None:
    import threading

    import uvicorn
    from asgiref.sync import sync_to_async

    from arbitrage.runtime.feed import ScanMessage, publish_scan
    from arbitrage.runtime.services import get_services
    from config.asgi import application

    scan_feed = get_services().feed
    last_ts = 0

    def publish(items: int) -> tuple[int, float]:
        nonlocal last_ts
        last_ts = max(last_ts + 1, int(time.time() * 1000))
        message = ScanMessage(last_ts, _items(items, last_ts))
        sent = time.time()  # the scan's result is ready: the clock starts
        publish_scan(scan_feed, message)
        return last_ts, sent

    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line)
        loop.call_soon_threadsafe(commands.put_nowait, "")

    threading.Thread(target=read_stdin, daemon=True).start()
    print(json.dumps({"token": token}), flush=True)
    while line := await commands.get():
        command = json.loads(line)
        for _ in range(command["scans"]):
            # As the demo's timer runs a scan: in a worker thread, publishing into this loop.
            ts, sent = await sync_to_async(publish, thread_sensitive=False)(command["items"])
            print(json.dumps({"ts": ts, "sent": sent}), flush=True)
            await asyncio.sleep(command["interval"])
        print(json.dumps({"done": True}), flush=True)
    server.should_exit = True
    await serving


# --- the clients (this process) ---------------------------------------------------------------


@dataclass
class Server:
    port: int
    token: str
    proc: subprocess.Popen[str]

    def publish(self, scans: int, interval: float, items: int) -> dict[int, float]:
        """Ask for `scans` scans; the send time of each, by its ts."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"scans": scans, "interval": interval, "items": items}) + "\n")
        self.proc.stdin.flush()
        sent: dict[int, float] = {}
        for line in _lines(self.proc.stdout):
            reply = json.loads(line)
            if reply.get("done"):
                return sent
            sent[reply["ts"]] = reply["sent"]
        raise RuntimeError("the benchmark server exited while publishing")


def _lines(stream: IO[str]) -> Iterator[str]:
    for line in stream:
        if line.startswith("{"):
            yield line


@contextmanager
def _server() -> Iterator[Server]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
            DEBUG="1",
            LOG_LEVEL="WARNING",
            SECRET_KEY="websocket-benchmark-secret-key-long-enough-for-hmac",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.websocket", "--serve", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            first = next(_lines(proc.stdout), None)
            if first is None:
                raise RuntimeError("the benchmark server did not start (see its stderr above)")
            yield Server(port, json.loads(first)["token"], proc)
        finally:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class Receipts:
    """(receipt time, ts) of every scan message any client got."""

    seen: list[tuple[float, int]] = field(default_factory=list)

    def add(self, raw: str | bytes) -> None:
        received = time.time()
        text = raw if isinstance(raw, str) else raw.decode()
        match = TS_RE.search(text, 0, 120)  # "ts" comes right after "type": no full parse
        if match:
            self.seen.append((received, int(match.group(1))))


async def _client(
    url: str, receipts: Receipts, ready: asyncio.Event, gate: asyncio.Semaphore, compression: str | None
) -> None:
    from websockets.asyncio.client import connect

    async with gate:
        websocket = await connect(url, max_size=2**24, ping_interval=None, open_timeout=60, compression=compression)
    ready.set()
    try:
        async for raw in websocket:
            receipts.add(raw)
    finally:
        await websocket.close()


async def _phase(
    server: Server, clients: int, scans: int, interval: float, items: int, compression: str | None = "deflate"
) -> tuple[dict[int, float], Receipts]:
    url = f"ws://127.0.0.1:{server.port}/ws/opportunities/?token={server.token}"
    receipts = Receipts()
    gate = asyncio.Semaphore(100)  # connect a hundred at a time, as a reconnect storm would not
    events = [asyncio.Event() for _ in range(clients)]
    tasks = [asyncio.create_task(_client(url, receipts, event, gate, compression)) for event in events]
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in events)), timeout=300)
    await asyncio.sleep(1.0)  # let the latest-scan-on-connect messages pass
    receipts.seen.clear()
    loop = asyncio.get_running_loop()
    sent = await loop.run_in_executor(None, server.publish, scans, interval, items)
    expected = clients * len(sent)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len([1 for _, ts in receipts.seen if ts in sent]) < expected:
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return sent, receipts


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def websocket_rows(
    client_counts: Sequence[int] = (1, 100, 1000), scans: int = 20, items: int = ITEMS_PER_SCAN
) -> list[tuple[str, float, float, str]]:
    """Rows of (case, p50 ms, p99 ms, note): latency from a scan's end to each client's
    receipt, per client count, then the delivery rate of back-to-back scans to the most
    clients (its two numbers are the p50 and p99 latency under that load)."""
    rows: list[tuple[str, float, float, str]] = []
    with _server() as server:
        phases = [(clients, "deflate") for clients in client_counts] + [(max(client_counts), None)]
        for clients, compression in phases:
            sent, receipts = asyncio.run(_phase(server, clients, scans, 0.25, items, compression))
            latencies = [(at - sent[ts]) * 1000 for at, ts in receipts.seen if ts in sent]
            if not latencies:
                raise RuntimeError(f"no scan reached any of {clients} clients")
            case = f"websocket: scan end -> client, {clients} clients"
            if compression is None:
                case += " without permessage-deflate"
            note = (
                f"{len(latencies)}/{clients * len(sent)} delivered, {len(sent)} scans of {items} items, "
                f"max {max(latencies):.1f} ms"
            )
            rows.append((case, _percentile(latencies, 50), _percentile(latencies, 99), note))

        clients = max(client_counts)
        sent, receipts = asyncio.run(_phase(server, clients, scans, 0.0, items))
        got = [(at, ts) for at, ts in receipts.seen if ts in sent]
        latencies = [(at - sent[ts]) * 1000 for at, ts in got]
        elapsed = max(at for at, _ in got) - min(sent.values())
        rate = len(got) / elapsed
        rows.append(
            (
                f"websocket: back-to-back scans, {clients} clients",
                _percentile(latencies, 50),
                _percentile(latencies, 99),
                f"{rate:,.0f} msg/s delivered ({len(got)}/{clients * len(sent)}; a slow client gets the newest scan)",
            )
        )
    return rows


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"]:
        _serve(int(argv[1]))
        return 0
    counts = [int(arg) for arg in argv] or [1, 100, 1000]
    for case, p50, p99, note in websocket_rows(counts):
        print(f"{case:70} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
