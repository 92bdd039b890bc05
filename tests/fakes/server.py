"""What every fake exchange shares: an aiohttp server on 127.0.0.1 serving the exchange's
REST and websocket endpoints on one port, a market that moves, and fault injection.

A subclass speaks one exchange's real protocol (tests/fakes/binance.py, okx.py,
kraken.py): its REST routes, what a client's websocket message means, and how a change
to the true book is told to a subscriber. The base keeps the books moving and the
subscribers in order, and carries the knobs tests turn:

- `pause()` / `resume()`: freeze the market (a quiet moment to compare books);
- `stall()` / `unstall()`: the websockets go silent (no data, no replies), connections
  stay open;
- `mute(symbol)` / `unmute(symbol)`: one book stops changing while the others move;
- `drop_connections()`: every websocket is cut at once;
- `refuse_connections(n)`: the next n websocket handshakes are refused (HTTP 503);
- `inject_gap(symbol)`: the next update for the symbol leaves a hole in the sequence;
- `corrupt_checksum(symbol)`: the next update for the symbol carries a wrong checksum;
- `send_malformed()`: a frame of broken JSON to every connection;
- `fail_snapshots(n, status)`: the next n REST snapshot requests fail with `status`.

`stats` counts what happened on the server side, so tests can assert it (reconnects
seen, snapshots served, rate-limit violations).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.book import TrueBook

View = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]  # (bids, asks) a subscriber holds


@dataclass
class Subscription:
    """One symbol's book as one connection sees it: the top `depth` levels it was sent."""

    symbol: str
    depth: int
    channel: str = ""
    view: View = field(default_factory=lambda: ({}, {}))
    seq: int = 0  # protocol sequence number of the last message sent (okx seqId)


@dataclass
class Connection:
    ws: web.WebSocketResponse
    path: str
    subscriptions: dict[str, Subscription] = field(default_factory=dict)  # by symbol
    id: str = ""
    transport: asyncio.BaseTransport | None = None


@dataclass
class RateLimit:
    """At most `requests` snapshot requests in any `window_sec`; beyond that, HTTP 429."""

    requests: int
    window_sec: float


class FakeExchange:
    name = "fake"

    def __init__(
        self,
        books: Iterable[TrueBook],
        *,
        seed: int = 1,
        interval: float = 0.02,
        changes_per_tick: int = 3,
        rate_limit: RateLimit | None = None,
        keep_top: int = 0,
    ) -> None:
        self.books: dict[str, TrueBook] = {b.symbol: b for b in books}
        self.keep_top = keep_top  # levels the random changes leave alone (a fixed top of book)
        self.rng = random.Random(seed)
        self.interval = interval
        self.changes_per_tick = changes_per_tick
        self.rate_limit = rate_limit
        self.connections: list[Connection] = []
        self.stats: Counter[str] = Counter()
        self.paused = False
        self.stalled = False
        self._refuse = 0
        self._snapshot_failures: deque[int] = deque()
        self._gaps: set[str] = set()
        self.muted: set[str] = set()
        self._bad_checksums: set[str] = set()
        self._snapshot_times: deque[float] = deque()
        self._runner: web.AppRunner | None = None
        self._pump: asyncio.Task[None] | None = None
        self.port = 0

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        self.add_routes(app)
        app.router.add_route("GET", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._pump = asyncio.create_task(self._run_pump(), name=f"fake-{self.name}-pump")

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def ccxt_config(self) -> dict[str, Any]:
        """This exchange's entry of a --ccxt-config file pointing ccxt at the fake."""
        raise NotImplementedError

    # --- fault knobs -----------------------------------------------------------------

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def stall(self) -> None:
        self.stalled = True

    def unstall(self) -> None:
        self.stalled = False

    def mute(self, symbol: str) -> None:
        self.muted.add(symbol)

    def unmute(self, symbol: str) -> None:
        self.muted.discard(symbol)

    async def drop_connections(self) -> None:
        for conn in list(self.connections):
            if isinstance(conn.transport, asyncio.Transport):
                conn.transport.abort()  # no close frame: the client sees the socket die
        self.connections.clear()
        self.stats["dropped"] += 1

    def refuse_connections(self, count: int) -> None:
        self._refuse = count

    def inject_gap(self, symbol: str) -> None:
        self._gaps.add(symbol)

    def corrupt_checksum(self, symbol: str) -> None:
        self._bad_checksums.add(symbol)

    async def send_malformed(self) -> None:
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.ws.send_str('{"stream": "oops", "data": {"e": "depthUpdate", ')
        self.stats["malformed_sent"] += 1

    def fail_snapshots(self, count: int, status: int = 429) -> None:
        self._snapshot_failures.extend([status] * count)

    def plant(self, symbol: str, *, best_bid: str | None = None, best_ask: str | None = None) -> None:
        self.books[symbol].plant(best_bid=best_bid, best_ask=best_ask)

    @property
    def subscribed_symbols(self) -> set[str]:
        return {s for conn in self.connections for s in conn.subscriptions}

    # --- for subclasses ----------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def on_text(self, conn: Connection, text: str) -> None:
        """A client's text frame."""
        raise NotImplementedError

    async def on_connect(self, conn: Connection) -> None:
        """Greeting frames (kraken's status message)."""

    async def send_update(self, conn: Connection, sub: Subscription, gap: bool, bad_checksum: bool) -> None:
        """Tell one subscriber what changed in its symbol's book since its view."""
        raise NotImplementedError

    async def tick_idle(self) -> None:
        """Called once per tick (kraken's heartbeats)."""

    def take_gap(self, symbol: str) -> bool:
        if symbol in self._gaps:
            self._gaps.discard(symbol)
            return True
        return False

    def snapshot_gate(self) -> web.Response | None:
        """Count a REST snapshot request; an error response when a fault or the rate limit says so."""
        self.stats["snapshot_requests"] += 1
        if self.rate_limit is not None:
            now = time.monotonic()
            times = self._snapshot_times
            times.append(now)
            while times and times[0] <= now - self.rate_limit.window_sec:
                times.popleft()
            if len(times) > self.rate_limit.requests:
                self.stats["rate_limited"] += 1
                return web.json_response({"code": -1003, "msg": "Too many requests."}, status=429)
        if self._snapshot_failures:
            status = self._snapshot_failures.popleft()
            self.stats[f"snapshot_failed_{status}"] += 1
            return web.json_response({"code": -1, "msg": "fault injected"}, status=status)
        return None

    @staticmethod
    def view_of(book: TrueBook, depth: int) -> View:
        bids, asks = book.top(depth)
        return dict(bids), dict(asks)

    @staticmethod
    def diff(old: View, new: View) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """Level changes turning view `old` into `new`: (bids, asks), size 0 = removed."""
        out: list[list[tuple[Decimal, Decimal]]] = []
        for before, after in zip(old, new, strict=True):
            changes = [(p, q) for p, q in after.items() if before.get(p) != q]
            changes += [(p, Decimal(0)) for p in before if p not in after]
            out.append(changes)
        return out[0], out[1]

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    # --- the websocket endpoint ---------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if self._refuse > 0:
            self._refuse -= 1
            self.stats["refused"] += 1
            return web.Response(status=503, text="service unavailable (fault injected)")
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        conn = Connection(ws, request.path, id=f"{self.rng.getrandbits(32):08x}", transport=request.transport)
        self.connections.append(conn)
        self.stats["connections"] += 1
        try:
            await self.on_connect(conn)
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self.stats["client_frames"] += 1
                    if not self.stalled:  # a stalled exchange answers nothing, not even pings
                        await self.on_text(conn, message.data)
                elif message.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            if conn in self.connections:
                self.connections.remove(conn)
        return ws

    async def _not_found(self, request: web.Request) -> web.Response:
        self.stats["not_found"] += 1
        return web.json_response({"error": f"no such endpoint on the fake: {request.path}"}, status=404)

    # --- the market ------------------------------------------------------------------

    async def _run_pump(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.stalled:
                continue
            await self.tick_idle()
            if self.paused:
                continue
            for symbol in sorted(self.subscribed_symbols - self.muted):
                await self.step(symbol)

    async def step(self, symbol: str, changes: Iterable[tuple[str, Decimal, Decimal]] | None = None) -> None:
        """Change one book now (the given level changes, or random ones) and publish it."""
        book = self.books[symbol]
        if changes is None:
            book.random_changes(self.rng, self.changes_per_tick, keep_top=self.keep_top)
        else:
            for side_name, price, size in changes:
                side = book.bids if side_name == "bids" else book.asks
                if size:
                    side[price] = size
                else:
                    side.pop(price, None)
        await self.publish(symbol)

    def on_publish(self, symbol: str, gap: bool) -> None:
        """Once per change of a book, before its subscribers hear of it (sequence ids)."""

    async def publish(self, symbol: str) -> None:
        """Send the symbol's subscribers what changed (after a tick or a plant)."""
        gap = self.take_gap(symbol)
        bad = symbol in self._bad_checksums
        self._bad_checksums.discard(symbol)
        self.on_publish(symbol, gap)
        for conn in list(self.connections):
            sub = conn.subscriptions.get(symbol)
            if sub is None or conn.ws.closed:
                continue
            try:
                await self.send_update(conn, sub, gap, bad)
            except (ConnectionResetError, RuntimeError):
                # the client went away mid-send; its handler cleans up
                continue
