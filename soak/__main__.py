"""`make soak MINUTES=N`: the full stack for N minutes against 14 exchanges, three of them
misbehaving all along, 100 WebSocket clients, and a Redis restart, a PostgreSQL restart and
a worker kill every ten minutes; then the verdict (docs/reliability.md says what it checks).

    python -m soak --minutes 30 --write docs/reliability.md
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from soak.market import (
    MISBEHAVING,
    SYMBOLS,
    FaultLog,
    fake_exchanges,
    misbehave,
    simulated_exchanges,
    write_ccxt_config,
)
from soak.observe import FeedLog, FrozenBooks, Memory, WebSocketClients
from soak.report import Verdict, judge, markdown
from soak.stack import Stack
from tests.servers import PostgresServer, RedisServer, wait_for_port

logger = logging.getLogger("soak")

USER, PASSWORD = "soak", "soak-password-0123"
MARK_START, MARK_END = "<!-- soak:start -->", "<!-- soak:end -->"


async def infrastructure_faults(
    stack: Stack, redis: RedisServer, pg: PostgresServer, faults: FaultLog, minutes: float
) -> None:
    """Every ten minutes (once in a shorter run): Redis dies and is back 5 s later, then
    PostgreSQL for 30 s, then one worker is SIGKILLed and its supervisor restarts it 3 s
    later."""
    period = min(600.0, minutes * 60)
    begun = time.monotonic()

    async def at(offset: float) -> None:
        await asyncio.sleep(max(0.0, begun + offset - time.monotonic()))

    cycle = 0
    while True:
        base = cycle * period
        await at(base + 0.3 * period)
        async with faults.during("redis: restarted (down 5 s)"):
            await asyncio.to_thread(redis.stop)
            await asyncio.sleep(5)
            await asyncio.to_thread(redis.start)
        await at(base + 0.5 * period)
        async with faults.during("postgres: restarted (down 30 s)"):
            await asyncio.to_thread(pg.stop)
            await asyncio.sleep(30)
            await asyncio.to_thread(pg.start)
        await at(base + 0.7 * period)
        async with faults.during("worker: SIGKILL, back 3 s later"):
            worker = stack.services["worker-1"]
            await asyncio.to_thread(worker.kill)
            await asyncio.sleep(3)
            worker.start()
        cycle += 1


async def access_token(base: str) -> str:
    async with aiohttp.ClientSession() as session:
        for _ in range(60):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.post(
                    f"{base}/api/v1/auth/token/", json={"username": USER, "password": PASSWORD}
                ) as r:
                    if r.status == 200:
                        return str((await r.json())["access"])
            await asyncio.sleep(1)
    raise RuntimeError("daphne did not hand out a token within a minute: see its log")


async def soak(minutes: float, clients: int, home: Path) -> Verdict:
    redis, pg = RedisServer(), PostgresServer()
    redis.start()
    fakes = fake_exchanges()
    for fake in fakes:
        await fake.start()
    write_ccxt_config(fakes, home / "ccxt.json")
    stack = Stack(redis.url, pg.url, home, list(MISBEHAVING), simulated_exchanges(), list(SYMBOLS))
    tasks: list[asyncio.Task[None]] = []
    try:
        interval = await asyncio.to_thread(stack.prepare, USER, PASSWORD)
        stack.define()
        stack.start_all()
        logger.info("stack up: 14 exchanges x %d symbols, a scan every %g s, logs in %s", len(SYMBOLS), interval, home)
        await asyncio.to_thread(wait_for_port, stack.web_port, "daphne", 60)
        base = f"http://127.0.0.1:{stack.web_port}"
        token = await access_token(base)

        faults, feed, frozen = FaultLog(), FeedLog(redis.url), FrozenBooks(redis.url)
        sockets = WebSocketClients(f"ws://127.0.0.1:{stack.web_port}/ws/opportunities/", token, clients)
        memory = Memory(stack)
        for job in (feed.run(), frozen.run(), sockets.run(), memory.run()):
            tasks.append(asyncio.create_task(job))
        tasks += misbehave(fakes, faults)
        tasks.append(asyncio.create_task(infrastructure_faults(stack, redis, pg, faults, minutes)))

        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < minutes * 60:
            await asyncio.sleep(min(60.0, minutes * 60 - elapsed))
            key, worst = frozen.worst()
            received = [len(c.received) for c in sockets.clients] or [0]
            logger.info(
                "%4.1f min: %d scans published, clients got %d..%d, longest healthy-but-frozen %.2f s (%s), %.0f MiB",
                (time.monotonic() - started) / 60, len(feed.scans), min(received), max(received), worst,
                "/".join(key) if key else "-", sum(memory.samples[-1][1].values()) / 1024 if memory.samples else 0,
            )  # fmt: skip
        for task in tasks[4:]:
            task.cancel()  # faults stop; the observers watch the recovery
        await asyncio.sleep(3 * interval)  # the audit drains, the last scans arrive
        for task in tasks[:4]:
            task.cancel()
        verdict = judge(
            pg.url,
            minutes=minutes,
            interval=interval,
            faults=faults.faults,
            feed=feed,
            clients=sockets,
            frozen=frozen,
            memory=memory,
            warm_up_sec=min(300.0, minutes * 60 / 4),
        )
        for log in sorted((home / "logs").glob("*.log")):
            verdict.tracebacks[log.stem] = log.read_text(errors="replace").count("Traceback")
        return verdict
    finally:
        for task in tasks:
            task.cancel()
        stack.stop_all()
        for fake in fakes:
            await fake.stop()
        redis.close()
        pg.close()


def write_report(path: Path, report: str) -> None:
    text = path.read_text() if path.exists() else f"# Reliability\n\n{MARK_START}\n{MARK_END}\n"
    head, _, rest = text.partition(MARK_START)
    _, _, tail = rest.partition(MARK_END)
    path.write_text(f"{head}{MARK_START}\n{report}{MARK_END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=100, help="WebSocket clients")
    parser.add_argument("--write", type=Path, help="put the figures into this markdown file (docs/reliability.md)")
    parser.add_argument("--keep", action="store_true", help="keep the logs and the ccxt config after the run")
    args = parser.parse_args(argv)
    if args.minutes < 2:
        parser.error("--minutes must be at least 2 (one cycle of faults needs them)")
    logging.basicConfig(level=logging.INFO, format="soak %(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("aiohttp").setLevel(logging.ERROR)
    home = Path(tempfile.mkdtemp(prefix="arbscan-soak-"))
    try:
        verdict = asyncio.run(soak(args.minutes, args.clients, home))
    except KeyboardInterrupt:
        print(f"soak interrupted; logs kept in {home}", file=sys.stderr)
        return 130
    except Exception:
        logger.exception("the soak itself failed; logs kept in %s", home)
        return 2
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    report = markdown(verdict, dt.datetime.now(dt.UTC))
    print(report)
    if args.write:
        write_report(args.write, report)
    return 0 if all(verdict.passed.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
