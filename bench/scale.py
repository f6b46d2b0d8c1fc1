"""Benchmark: 1, 2 and 3 `entonnoir run` instances in webhook mode on one PostgreSQL.

A local load generator plays Telegram and the load balancer: each update goes to the next
instance in turn (HTTP POST with Telegram's secret header); the instances reply through a
fake Bot API on loopback, which records when each reply arrives. Two questions, asked
separately of the same instances:

1. Capacity (updates/s at saturation): `--users` users each send a command, wait for the
   reply, send the next (closed loop, always `--users` in flight), `--updates` updates.
2. Latency (p50/p99, POST sent -> reply received) at a steady open-loop arrival rate below
   saturation: `--latency-updates` updates evenly spaced at `--load` (default 50 %) of the
   capacity measured for ONE instance (so every instance count gets the same rate), spread
   over the users; an update is sent on time whether or not earlier ones were answered.

Duplicates: replies beyond one per update, over both phases (late ones counted too).

The instances run with TELEGRAM_RATE_LIMIT=false: Telegram's outgoing limit (~30 messages/s)
is per bot, shared by all instances, so it says nothing about how many updates the product
can process; with it on, each process is capped near 30 replies/s and the figures measure
the limiter. Everything (PostgreSQL, the instances, the generator and the fake API) shares
this machine's cores: printed with the machine's load.

    .venv/bin/python -m bench.scale [--updates 10000] [--users 200] [--instances 1,2,3]
                                    [--latency-updates 3000] [--load 0.5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict, deque
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import machine
from bot.settings import Settings
from tests.billing_data import SELLER_ENV
from tests.fake_bot_api import Call, FakeBotApi
from tests.services import PostgresServer, free_port, wait_port

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-token-0123456789"
BASE_ID = 7_000_000
FAILED: Counter[str] = Counter()  # POSTs that failed, by error
COMMANDS = ("/help", "/contacts Martin", "/tasks", "/pipeline")


async def _database(server: PostgresServer, users: int) -> str:
    name = f"scale_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(f"{server.url}/postgres")
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = f"{server.url}/{name}"
    from storage.db import close_db, init_db
    from storage.models import Role, User

    await init_db(url)
    try:
        await User.bulk_create(
            [
                User(name=f"user{i}", role=Role.SALES, language="en", telegram_id=BASE_ID + i)
                for i in range(users)
            ]
        )
    finally:
        await close_db()
    return url


def _start(
    url: str, api: FakeBotApi, port: int, var: Path, concurrent: int | None
) -> subprocess.Popen[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("TELEGRAM_", "DATABASE_", "WEBHOOK_", "SMTP_", "LOG_", "CONCURRENT_", "COMPANY_")
        )
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": url,
            "VAR_DIR": str(var),
            "TELEGRAM_BOT_TOKEN": "123:BENCH",
            "TELEGRAM_API_URL": api.url,
            "BOT_USERNAME": api.username,
            "WEBHOOK_URL": "https://bench.example/hook",
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "TELEGRAM_RATE_LIMIT": "false",
            **SELLER_ENV,
        }
    )
    if concurrent is not None:
        env["CONCURRENT_UPDATES"] = str(concurrent)
    var.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=var,
        stdout=subprocess.DEVNULL,
        stderr=(var / "run.log").open("w"),
    )


def _wait_started(procs: list[subprocess.Popen[bytes]], ports: list[int], tmp: Path) -> None:
    """Every instance listens, or the first one that exited says why (its log's tail)."""
    deadline = time.monotonic() + 120
    for k, (proc, port) in enumerate(zip(procs, ports, strict=True)):
        while True:
            if proc.poll() is not None:
                log = (tmp / f"i{k}" / "run.log").read_text(errors="replace")
                raise SystemExit(f"instance {k} exited {proc.returncode}: {log[-600:]}")
            try:
                wait_port(port, timeout=0.5)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise


def _update(n: int, chat: int) -> bytes:
    text = COMMANDS[n % len(COMMANDS)]
    return json.dumps(
        {
            "update_id": n + 1,
            "message": {
                "message_id": n + 1,
                "date": int(time.time()),
                "text": text,
                "chat": {"id": chat, "type": "private"},
                "from": {"id": chat, "is_bot": False, "first_name": "u", "language_code": "en"},
                "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
            },
        }
    ).encode()


class _Replies:
    """Matches each reply the fake API records to the oldest unanswered update of its chat
    (a user's updates are answered in order)."""

    def __init__(self, api: FakeBotApi) -> None:
        self.loop = asyncio.get_running_loop()
        self.waiting: dict[int, deque[asyncio.Future[float]]] = defaultdict(deque)
        api.on_call = self._on_call

    def _on_call(self, call: Call) -> None:
        chat = call.chat_id
        if call.method.startswith("send") and chat is not None:
            self.loop.call_soon_threadsafe(self._arrived, chat, time.perf_counter())

    def _arrived(self, chat: int, stamp: float) -> None:
        queue = self.waiting.get(chat)
        while queue:
            future = queue.popleft()
            if not future.done():
                future.set_result(stamp)
                return

    def expect(self, chat: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = self.loop.create_future()
        self.waiting[chat].append(future)
        return future


async def _send(
    http: httpx.AsyncClient, port: int, body: bytes, replies: _Replies, chat: int, latencies: list[float]
) -> None:
    future = replies.expect(chat)
    sent = time.perf_counter()
    try:
        await http.post(
            f"http://127.0.0.1:{port}/hook", content=body, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
    except httpx.HTTPError as exc:  # not delivered: counted, never retried (no duplicate)
        FAILED[type(exc).__name__] += 1
        future.cancel()
        return
    with contextlib.suppress(TimeoutError):  # unanswered: missing from the latencies
        latencies.append(await asyncio.wait_for(future, 30) - sent)


async def _capacity(
    http: httpx.AsyncClient, ports: list[int], replies: _Replies, updates: int, users: int, first: int
) -> tuple[float, list[float]]:
    """Closed loop: `users` users always in flight. Returns (seconds, latencies)."""
    latencies: list[float] = []
    counter = iter(range(first, first + updates))

    async def user(i: int) -> None:
        for n in counter:
            await _send(http, ports[n % len(ports)], _update(n, BASE_ID + i), replies, BASE_ID + i, latencies)

    started = time.perf_counter()
    await asyncio.gather(*(user(i) for i in range(users)))
    return time.perf_counter() - started, latencies


async def _latency(
    http: httpx.AsyncClient,
    ports: list[int],
    replies: _Replies,
    updates: int,
    users: int,
    rate: float,
    first: int,
) -> tuple[float, list[float]]:
    """Open loop: one update every 1/rate s (user after user), answered or not."""
    latencies: list[float] = []
    tasks = []
    started = time.perf_counter()
    for k in range(updates):
        delay = started + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        n, chat = first + k, BASE_ID + k % users
        tasks.append(
            asyncio.create_task(
                _send(http, ports[n % len(ports)], _update(n, chat), replies, chat, latencies)
            )
        )
    sending = time.perf_counter() - started
    await asyncio.gather(*tasks)
    return sending, latencies


def _cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far."""
    return sum(sum(_stat(pid)[11:13]) for pid in pids) / os.sysconf("SC_CLK_TCK")


def _tree_cpu(root: int) -> float:
    """CPU seconds of a process and its descendants, with their reaped children's."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stats[int(entry.name)] = _stat(int(entry.name))
    tree, total = {root}, 0
    for pid in sorted(stats):  # children have higher pids than their parents here
        if pid in tree or stats[pid][1] in tree:
            tree.add(pid)
            total += sum(stats[pid][11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[int]:
    """/proc/PID/stat from field 3 (state) on, as numbers (the state as 0)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return [0, *(int(f) for f in fields[1:])]


async def _bench(
    ports: list[int], api: FakeBotApi, args: argparse.Namespace, rate: float | None, pids: list[int], pg: int
) -> dict[str, Any]:
    replies = _Replies(api)
    # idle connections dropped before uvicorn's 5 s keep-alive ends (a POST on a connection
    # the server is closing fails)
    limits = httpx.Limits(
        max_connections=max(args.users, 100), max_keepalive_connections=100, keepalive_expiry=2.0
    )
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        for n in range(min(50, args.users)):  # warm-up: connections, caches, first queries
            await _send(
                http, ports[n % len(ports)], _update(10**8 + n, BASE_ID + n), replies, BASE_ID + n, []
            )
        cpu, own, db = _cpu(pids), time.process_time(), _tree_cpu(pg)
        seconds, saturated = await _capacity(http, ports, replies, args.updates, args.users, 0)
        cpu, own, db = _cpu(pids) - cpu, time.process_time() - own, _tree_cpu(pg) - db
        capacity = len(saturated) / seconds
        rate = rate or capacity * args.load
        sending, steady = await _latency(
            http, ports, replies, args.latency_updates, args.users, rate, args.updates
        )
    await asyncio.sleep(1.0)  # late replies (duplicates) still counted
    api.on_call = None
    warm = min(50, args.users)
    answered = warm + len(saturated) + len(steady)
    sent = sum(1 for c in api.sent() if c.method.startswith("send"))
    return {
        "seconds": seconds,
        "capacity": capacity,
        "saturated": saturated,
        "rate": rate,
        "offered": args.latency_updates / sending,
        "steady": steady,
        "duplicates": sent - answered,
        "cpu": cpu / max(1, len(saturated)) * 1000,
        "own": own / max(1, len(saturated)) * 1000,
        "db": db / max(1, len(saturated)) * 1000,
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=10_000, help="capacity run")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--instances", default="1,2,3")
    parser.add_argument("--latency-updates", type=int, default=3_000, help="latency run")
    parser.add_argument(
        "--load", type=float, default=0.5, help="latency run's rate, share of one instance's capacity"
    )
    parser.add_argument("--rate", type=float, help="latency run's rate (updates/s) instead")
    parser.add_argument(
        "--concurrent-updates", type=int, help="CONCURRENT_UPDATES of each instance (default: the product's)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 300 + 150 updates, 1 and 2 instances"
    )
    args = parser.parse_args()
    if args.quick:
        args.updates, args.latency_updates, args.users = 300, 150, 30
        args.instances = "1,2" if args.instances == "1,2,3" else args.instances
    counts = sorted(int(n) for n in args.instances.split(","))
    concurrent = args.concurrent_updates or Settings.model_fields["concurrent_updates"].default
    print(machine())
    print(
        f"{args.updates} updates at saturation ({args.users} users in flight), then "
        f"{args.latency_updates} evenly spaced at "
        + (f"{args.rate:.0f} updates/s" if args.rate else f"{args.load:.0%} of one instance's capacity")
        + f"; TELEGRAM_RATE_LIMIT=false; CONCURRENT_UPDATES={concurrent}; one run each",
        flush=True,
    )
    server = PostgresServer()
    server.start()
    assert server.proc is not None
    pg = server.proc.pid
    results: dict[int, dict[str, Any]] = {}
    rate = args.rate
    try:
        for count in counts:
            url = asyncio.run(_database(server, args.users))
            api = FakeBotApi()
            api.start()
            ports = [free_port() for _ in range(count)]
            with tempfile.TemporaryDirectory() as tmp:
                procs = [
                    _start(url, api, port, Path(tmp) / f"i{k}", args.concurrent_updates)
                    for k, port in enumerate(ports)
                ]
                try:
                    _wait_started(procs, ports, Path(tmp))
                    res = asyncio.run(_bench(ports, api, args, rate, [p.pid for p in procs], pg))
                finally:
                    for proc in procs:
                        proc.send_signal(signal.SIGTERM)
                    for proc in procs:
                        proc.wait(timeout=60)
                    api.stop()
            if count == 1 or rate is None:
                rate = res["rate"]
            results[count] = res
            sat, steady = res["saturated"], res["steady"]
            print(
                f"{count} instance(s): capacity {len(sat)}/{args.updates} in "
                f"{res['seconds']:.1f} s = {res['capacity']:.0f} updates/s "
                f"(latency at saturation p50 {_pct(sat, 0.5):.0f} ms, "
                f"p99 {_pct(sat, 0.99):.0f} ms; CPU per update: instances {res['cpu']:.1f} ms,"
                f" PostgreSQL {res['db']:.1f} ms, generator + fake API {res['own']:.1f} ms);"
                f" at {res['rate']:.0f} updates/s "
                f"(offered {res['offered']:.0f}): {len(steady)}/{args.latency_updates} "
                f"answered, latency p50 {_pct(steady, 0.5):.1f} ms, "
                f"p99 {_pct(steady, 0.99):.1f} ms; duplicates {res['duplicates']}; "
                f"failed POSTs {dict(FAILED) or 0}; "
                f"exit codes {[p.returncode for p in procs]}",
                flush=True,
            )
            FAILED.clear()
    finally:
        server.stop()
    if 1 in results and len(results) > 1:
        best = max(results)
        ratio = results[best]["capacity"] / results[1]["capacity"]
        p99 = max(_pct(r["steady"], 0.99) for r in results.values())
        dup = sum(r["duplicates"] for r in results.values())
        met = best >= 3 and ratio >= 2.5 and p99 <= 50 and dup == 0
        print(
            f"scaling: {best} instances = {ratio:.2f}x one instance; worst p99 {p99:.1f} ms;"
            f" duplicates {dup} [target: 3 >= 2.5x, p99 <= 50 ms, 0 duplicates: "
            f"{'met' if met else 'NOT met'}]"
        )
    print(
        f"{machine()}; {os.cpu_count()} cores shared by PostgreSQL, the instances, the "
        f"load generator and the fake Bot API"
    )


if __name__ == "__main__":
    main()
