"""Benchmark: 1, 2 and 3 `entonnoir run` instances in webhook mode on one PostgreSQL.

A local load generator plays a load balancer: many users each send a command, wait for
the bot's reply, send the next; each update goes to the next instance in turn (HTTP POST
with Telegram's secret header). The instances reply through a fake Bot API on loopback,
which records when each reply arrives. Printed for each instance count: updates/s, p50 and
p99 reply latency (POST sent -> reply received by the fake API), and duplicates (replies
beyond one per update).

Caveats, printed too: the instances keep the product's AIORateLimiter, which holds a bot
to Telegram's ~30 messages/s overall PER PROCESS (Telegram's real limit is per bot, i.e.
shared by all instances); everything (PostgreSQL, the instances, the generator, the fake
API) shares this machine's cores.

    .venv/bin/python -m bench.scale [--updates 10000] [--users 200] [--instances 1,2,3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import httpx

from tests.fake_bot_api import Call, FakeBotApi
from tests.services import PostgresServer, free_port, wait_port

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-token-0123456789"
BASE_ID = 7_000_000
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
        await User.bulk_create([User(name=f"user{i}", role=Role.SALES, language="en",
                                     telegram_id=BASE_ID + i) for i in range(users)])
    finally:
        await close_db()
    return url


def _start(url: str, api: FakeBotApi, port: int, var: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "DATABASE_", "WEBHOOK_", "SMTP_", "LOG_"))}
    env.update({
        "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "VAR_DIR": str(var),
        "TELEGRAM_BOT_TOKEN": "123:BENCH", "TELEGRAM_API_URL": api.url,
        "BOT_USERNAME": api.username, "WEBHOOK_URL": "https://bench.example/hook",
        "WEBHOOK_SECRET": SECRET, "WEBHOOK_PORT": str(port), "LOG_LEVEL": "WARNING",
    })
    var.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=var,
                            stdout=subprocess.DEVNULL, stderr=(var / "run.log").open("w"))


async def _load(ports: list[int], api: FakeBotApi, updates: int, users: int
                ) -> tuple[float, list[float], int]:
    loop = asyncio.get_running_loop()
    waiting: dict[int, asyncio.Future[float]] = {}

    def on_call(call: Call) -> None:
        chat = call.chat_id
        if call.method.startswith("send") and chat is not None:
            stamp = time.perf_counter()
            loop.call_soon_threadsafe(_arrived, chat, stamp)

    def _arrived(chat: int, stamp: float) -> None:
        future = waiting.pop(chat, None)
        if future is not None and not future.done():
            future.set_result(stamp)

    api.on_call = on_call
    latencies: list[float] = []
    counter = iter(range(updates))
    next_port = iter(range(10**9))
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=users)) as http:
        async def user(i: int) -> None:
            chat = BASE_ID + i
            for n in counter:
                text = COMMANDS[n % len(COMMANDS)]
                body = {"update_id": n + 1, "message": {
                    "message_id": n + 1, "date": int(time.time()), "text": text,
                    "chat": {"id": chat, "type": "private"},
                    "from": {"id": chat, "is_bot": False, "first_name": "u", "language_code": "en"},
                    "entities": [{"type": "bot_command", "offset": 0,
                                  "length": len(text.split()[0])}]}}
                future: asyncio.Future[float] = loop.create_future()
                waiting[chat] = future
                port = ports[next(next_port) % len(ports)]
                sent = time.perf_counter()
                await http.post(f"http://127.0.0.1:{port}/hook", content=json.dumps(body),
                                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                try:
                    latencies.append(await asyncio.wait_for(future, 30) - sent)
                except TimeoutError:
                    waiting.pop(chat, None)

        started = time.perf_counter()
        await asyncio.gather(*(user(i) for i in range(users)))
        elapsed = time.perf_counter() - started
    await asyncio.sleep(1.0)  # late replies (duplicates) still counted
    api.on_call = None
    replies = Counter(c.chat_id for c in api.sent() if c.method.startswith("send"))
    return elapsed, latencies, sum(replies.values()) - len(latencies)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--instances", default="1,2,3")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 updates, 1 and 2")
    args = parser.parse_args()
    if args.quick:
        args.updates, args.users, args.instances = 300, 30, "1,2"
    server = PostgresServer()
    server.start()
    results: dict[int, float] = {}
    try:
        for count in (int(n) for n in args.instances.split(",")):
            url = asyncio.run(_database(server, args.users))
            api = FakeBotApi()
            api.start()
            ports = [free_port() for _ in range(count)]
            with tempfile.TemporaryDirectory() as tmp:
                procs = [_start(url, api, port, Path(tmp) / f"i{k}")
                         for k, port in enumerate(ports)]
                try:
                    for port in ports:
                        wait_port(port, timeout=120)
                    elapsed, lat, dup = asyncio.run(_load(ports, api, args.updates, args.users))
                finally:
                    for proc in procs:
                        proc.send_signal(signal.SIGTERM)
                    for proc in procs:
                        proc.wait(timeout=60)
                    api.stop()
            rate = len(lat) / elapsed
            results[count] = rate
            print(f"{count} instance(s): {len(lat)}/{args.updates} updates answered in "
                  f"{elapsed:.1f} s = {rate:.0f} updates/s; reply latency p50 "
                  f"{_pct(lat, 0.5):.1f} ms, p99 {_pct(lat, 0.99):.1f} ms; "
                  f"duplicates {dup}; exit codes {[p.returncode for p in procs]}")
    finally:
        server.stop()
    if 1 in results and len(results) > 1:
        best = max(results)
        print(f"scaling: {best} instances = {results[best] / results[1]:.2f}x one instance "
              f"[target 3 >= 2.5x; p99 <= 50 ms; 0 duplicates]")
    print(f"machine: {os.cpu_count()} cores shared by PostgreSQL, the instances, the load "
          f"generator and the fake Bot API; AIORateLimiter caps each instance near 30 replies/s;"
          f" one run each")


if __name__ == "__main__":
    main()
