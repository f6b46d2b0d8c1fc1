"""Benchmark: 1, 2 and 3 `entonnoir run` instances in webhook mode on one PostgreSQL.

A local load generator plays Telegram and the load balancer: each update goes to the next
instance in turn (HTTP POST with Telegram's secret header); the instances reply through a
light fake Bot API on loopback (`bench/_bot_api.py`, in the generator's event loop), which
notes when each reply arrives. Two questions, asked separately of the same instances:

1. Capacity (updates/s at saturation): `--users` users each send a command, wait for the
   reply, send the next (closed loop, always `--users` in flight), `--updates` updates.
2. Latency (p50/p99, POST sent -> reply received) at a steady open-loop arrival rate below
   saturation: `--latency-updates` updates evenly spaced at `--load` (default 50 %) of the
   capacity measured for ONE instance (so every instance count gets the same rate), spread
   over the users; an update is sent on time whether or not earlier ones were answered.

Duplicates: replies beyond one per update, over both phases (late ones counted too).

Scale-out on a small machine: `--cpu-per-instance C` (default 0.25) puts each instance in
its own cgroup with a CFS quota of C CPU (C x 10 ms of CPU per 10 ms period), emulating
instances that each run on their own small host, while PostgreSQL, the generator and the
fake Bot API stay uncapped (in a group of their own). Every group weighs ten times any
other process in the scheduler, so other work on the machine does not eat into them. Then N
instances have N x C CPU whatever the machine's core count, as long as N x C + PostgreSQL +
generator fit in the cores: capacity 1 -> 2 -> 3
shows whether the product scales out (no lock, claim or serialisation shared between
instances), which a 2-core machine cannot show uncapped. Printed per count: the quota the
instances used and how often they were throttled (cpu.stat), so a reader sees whether the
cap or the machine was the limit. `--cpu-per-instance 0`: uncapped (what one host gives).
Without a writable cgroup hierarchy (not root, no cpu controller) the run says so and
runs uncapped.

The instances run with TELEGRAM_RATE_LIMIT=false: Telegram's outgoing limit (~30 messages/s)
is per bot, shared by all instances, so it says nothing about how many updates the product
can process. Printed with the machine's load.

    .venv/bin/python -m bench.scale [--updates 10000] [--users 200] [--instances 1,2,3]
                                    [--latency-updates 3000] [--load 0.5]
                                    [--cpu-per-instance 0.25] [--quick]
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

from bench import machine
from bench._bot_api import LightBotApi, Poster
from bench._cgroups import CpuCaps, Throttling
from bot.settings import Settings
from tests.billing_data import SELLER_ENV
from tests.services import PostgresServer, free_port

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-token-0123456789"
BASE_ID = 7_000_000
HOOK_PATH = "/hook"
PERIOD_US = 10_000  # CFS period of the caps: a throttled instance waits at most ~10 ms
FAILED: Counter[str] = Counter()  # POSTs that failed, by error
COMMANDS = ("/help", "/contacts Martin", "/tasks", "/pipeline")


async def _database(server: PostgresServer, users: int, template: str | None = None) -> str:
    """A new database: a copy of `template`, or migrated with `users` sales users."""
    name = f"scale_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(f"{server.url}/postgres")
    await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    await conn.close()
    url = f"{server.url}/{name}"
    if template:
        return url
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
    url: str, api: LightBotApi, port: int, var: Path, concurrent: int | None
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
            "WEBHOOK_URL": f"https://bench.example{HOOK_PATH}",
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


async def _wait_started(procs: list[subprocess.Popen[bytes]], ports: list[int], tmp: Path) -> None:
    """Every instance listens, or the first one that exited says why (its log's tail)."""
    deadline = time.monotonic() + 120
    for k, (proc, port) in enumerate(zip(procs, ports, strict=True)):
        while True:
            if proc.poll() is not None:
                log = (tmp / f"i{k}" / "run.log").read_text(errors="replace")
                raise SystemExit(f"instance {k} exited {proc.returncode}: {log[-600:]}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)


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
    """Matches each reply the fake API receives to the oldest unanswered update of its chat
    (a user's updates are answered in order). Runs in the generator's loop."""

    def __init__(self) -> None:
        self.waiting: dict[int, deque[asyncio.Future[float]]] = defaultdict(deque)

    def arrived(self, chat: int, stamp: float) -> None:
        queue = self.waiting.get(chat)
        while queue:
            future = queue.popleft()
            if not future.done():
                future.set_result(stamp)
                return

    def expect(self, chat: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[chat].append(future)
        return future


async def _send(
    poster: Poster, port: int, body: bytes, replies: _Replies, chat: int, latencies: list[float]
) -> None:
    future = replies.expect(chat)
    sent = time.perf_counter()
    try:
        status = await poster.post(port, body)
    except OSError as exc:  # not delivered: counted, never retried (no duplicate)
        FAILED[str(exc).split(":")[0]] += 1
        future.cancel()
        return
    if status != 200:
        FAILED[f"HTTP {status}"] += 1
        future.cancel()
        return
    with contextlib.suppress(TimeoutError):  # unanswered: missing from the latencies
        latencies.append(await asyncio.wait_for(future, 30) - sent)


async def _capacity(
    poster: Poster, ports: list[int], replies: _Replies, updates: int, users: int, first: int
) -> tuple[float, list[float]]:
    """Closed loop: `users` users always in flight. Returns (seconds, latencies)."""
    latencies: list[float] = []
    counter = iter(range(first, first + updates))

    async def user(i: int) -> None:
        for n in counter:
            await _send(
                poster, ports[n % len(ports)], _update(n, BASE_ID + i), replies, BASE_ID + i, latencies
            )

    started = time.perf_counter()
    await asyncio.gather(*(user(i) for i in range(users)))
    return time.perf_counter() - started, latencies


async def _latency(
    poster: Poster,
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
                _send(poster, ports[n % len(ports)], _update(n, chat), replies, chat, latencies)
            )
        )
    sending = time.perf_counter() - started
    await asyncio.gather(*tasks)
    return sending, latencies


def _cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far."""
    return sum(sum(_stat(pid)[11:13]) for pid in pids) / os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, list[int]]:
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stats[int(entry.name)] = _stat(int(entry.name))
    return stats


def _tree(root: int, stats: dict[int, list[int]]) -> list[int]:
    """A process and its descendants."""
    tree = {root}
    for pid in sorted(stats):  # children have higher pids than their parents here
        if stats[pid][1] in tree:
            tree.add(pid)
    return sorted(tree & stats.keys())


def _tree_cpu(root: int) -> float:
    """CPU seconds of a process and its descendants, with their reaped children's."""
    stats = _processes()
    return sum(sum(stats[pid][11:15]) for pid in _tree(root, stats)) / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[int]:
    """/proc/PID/stat from field 3 (state) on, as numbers (the state as 0)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return [0, *(int(f) for f in fields[1:])]


def _throttling(caps: CpuCaps | None, count: int) -> Throttling:
    total = Throttling()
    for k in range(count if caps is not None else 0):
        assert caps is not None
        total += caps.throttling(f"i{k}")
    return total


async def _bench(
    ports: list[int],
    api: LightBotApi,
    replies: _Replies,
    args: argparse.Namespace,
    rate: float | None,
    pids: list[int],
    pg: int,
    caps: CpuCaps | None,
) -> dict[str, Any]:
    poster = Poster(HOOK_PATH, {"X-Telegram-Bot-Api-Secret-Token": SECRET})
    count = len(ports)
    try:
        warm = min(50, args.users)
        for n in range(warm):  # warm-up: connections, caches, first queries
            await _send(poster, ports[n % count], _update(10**8 + n, BASE_ID + n), replies, BASE_ID + n, [])
        cpu, own, db = _cpu(pids), time.process_time(), _tree_cpu(pg)
        throttled = _throttling(caps, count)
        seconds, saturated = await _capacity(poster, ports, replies, args.updates, args.users, 0)
        cpu, own, db = _cpu(pids) - cpu, time.process_time() - own, _tree_cpu(pg) - db
        throttled = _throttling(caps, count) - throttled
        capacity = len(saturated) / seconds
        rate = rate or capacity * args.load
        steady_cpu, steady_throttled = _cpu(pids), _throttling(caps, count)
        sending, steady = await _latency(
            poster, ports, replies, args.latency_updates, args.users, rate, args.updates
        )
        steady_cpu = _cpu(pids) - steady_cpu
        steady_throttled = _throttling(caps, count) - steady_throttled
    finally:
        poster.close()
    await asyncio.sleep(1.0)  # late replies (duplicates) still counted
    answered = warm + len(saturated) + len(steady)
    per = 1000 / max(1, len(saturated))
    return {
        "seconds": seconds,
        "capacity": capacity,
        "saturated": saturated,
        "rate": rate,
        "offered": args.latency_updates / sending,
        "steady": steady,
        "duplicates": api.sends - answered,
        "cpu": cpu * per,
        "own": own * per,
        "db": db * per,
        # share of the instances' quota they used while saturated (1.0 = the cap bound)
        "quota": cpu / (count * args.cpu_per_instance * seconds) if caps is not None else None,
        "throttled": throttled,
        "steady_quota": (
            steady_cpu / (count * args.cpu_per_instance * sending) if caps is not None else None
        ),
        "steady_throttled": steady_throttled,
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


async def _one_count(
    count: int,
    url: str,
    args: argparse.Namespace,
    rate: float | None,
    pg: int,
    caps: CpuCaps | None,
    tmp: Path,
) -> tuple[dict[str, Any], list[int | None]]:
    replies = _Replies()
    api = LightBotApi(on_send=replies.arrived)
    await api.start()
    ports = [free_port() for _ in range(count)]
    procs = [_start(url, api, port, tmp / f"i{k}", args.concurrent_updates) for k, port in enumerate(ports)]
    try:
        await _wait_started(procs, ports, tmp)  # started uncapped: a host's boot is not measured
        if caps is not None:
            stats = _processes()
            for k, proc in enumerate(procs):
                for pid in _tree(proc.pid, stats):
                    caps.add(f"i{k}", pid)
        res = await _bench(ports, api, replies, args, rate, [p.pid for p in procs], pg, caps)
    finally:
        for k in range(count if caps is not None else 0):  # stopping is not measured
            assert caps is not None
            with contextlib.suppress(OSError):
                caps.remove(f"i{k}")
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            await asyncio.to_thread(proc.wait, 60)
        await api.stop()
    return res, [p.returncode for p in procs]


def _report(count: int, res: dict[str, Any], args: argparse.Namespace, codes: list[int | None]) -> str:
    sat, steady = res["saturated"], res["steady"]
    line = (
        f"{count} instance(s): capacity {len(sat)}/{args.updates} in {res['seconds']:.1f} s = "
        f"{res['capacity']:.0f} updates/s (latency at saturation p50 {_pct(sat, 0.5):.0f} ms, "
        f"p99 {_pct(sat, 0.99):.0f} ms); CPU per update: instances {res['cpu']:.1f} ms, "
        f"PostgreSQL {res['db']:.1f} ms, generator + fake API {res['own']:.1f} ms"
    )
    if res["quota"] is not None:
        t = res["throttled"]
        line += (
            f"; the instances used {res['quota']:.0%} of their quota, throttled in "
            f"{t.throttled / max(1, t.periods):.0%} of {t.periods} periods "
            f"({t.seconds / count:.1f} s throttled per instance)"
        )
    line += (
        f"\n    at {res['rate']:.1f} updates/s (offered {res['offered']:.1f}): "
        f"{len(steady)}/{args.latency_updates} answered, latency p50 {_pct(steady, 0.5):.1f} ms, "
        f"p99 {_pct(steady, 0.99):.1f} ms"
    )
    if res["steady_quota"] is not None:
        t = res["steady_throttled"]
        line += (
            f" (quota used {res['steady_quota']:.0%}, throttled in "
            f"{t.throttled / max(1, t.periods):.0%} of periods)"
        )
    line += f"; duplicates {res['duplicates']}; failed POSTs {dict(FAILED) or 0}; exit codes {codes}"
    return line


def _summary(results: dict[int, dict[str, Any]], args: argparse.Namespace, capped: bool, rate: float) -> str:
    """The table of every count, then whether the targets are met."""
    one = results.get(min(results))
    lines = [
        f"summary ({f'each instance capped at {args.cpu_per_instance:g} CPU' if capped else 'uncapped'}):",
        f"  instances | capacity updates/s | vs {min(results)} | p50 / p99 at {rate:.1f} updates/s "
        "| duplicates | CPU ms/update: instances, PostgreSQL, generator"
        + (" | quota used, periods throttled (saturated)" if capped else ""),
    ]
    for count, r in results.items():
        assert one is not None
        t = r["throttled"]
        lines.append(
            f"  {count} | {r['capacity']:.1f} | {r['capacity'] / one['capacity']:.2f}x | "
            f"{_pct(r['steady'], 0.5):.1f} / {_pct(r['steady'], 0.99):.1f} ms | {r['duplicates']} | "
            f"{r['cpu']:.1f}, {r['db']:.1f}, {r['own']:.1f}"
            + (f" | {r['quota']:.0%}, {t.throttled / max(1, t.periods):.0%}" if capped else "")
        )
    if 1 in results and max(results) >= 3:
        ratio = results[max(results)]["capacity"] / results[1]["capacity"]
        p99 = max(_pct(r["steady"], 0.99) for r in results.values())
        dup = sum(r["duplicates"] for r in results.values())
        met = [ratio >= 2.5, p99 <= 50, dup == 0]
        lines.append(
            f"targets {'MET' if all(met) else 'NOT met'}: {max(results)} instances = {ratio:.2f}x one "
            f"(>= 2.5x: {'yes' if met[0] else 'no'}), worst p99 {p99:.1f} ms (<= 50 ms: "
            f"{'yes' if met[1] else 'no'}), {dup} duplicates (0: {'yes' if met[2] else 'no'})"
            + ("" if capped else f"; uncapped, on this machine's {os.cpu_count()} shared cores")
        )
    else:
        lines.append(
            "targets (3 instances >= 2.5x one, p99 <= 50 ms, 0 duplicates): not judged (needs 1 and 3)"
        )
    return "\n".join(lines)


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
        "--cpu-per-instance",
        type=float,
        default=0.25,
        help="CPU quota of each instance (its own cgroup), emulating one small host per "
        "instance; 0 = uncapped",
    )
    parser.add_argument(
        "--concurrent-updates", type=int, help="CONCURRENT_UPDATES of each instance (default: the product's)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 200 + 100 updates, 1 and 2 instances"
    )
    args = parser.parse_args()
    if args.quick:
        args.updates, args.latency_updates, args.users = 200, 100, 20
        args.instances = "1,2" if args.instances == "1,2,3" else args.instances
    counts = sorted(int(n) for n in args.instances.split(","))
    concurrent = args.concurrent_updates or Settings.model_fields["concurrent_updates"].default
    caps = None
    if args.cpu_per_instance > 0:
        caps, where = CpuCaps.open(args.cpu_per_instance, PERIOD_US)
        if caps is None:
            print(
                f"--cpu-per-instance {args.cpu_per_instance:g}: cannot cap the instances here "
                f"({where}); running them uncapped.",
                flush=True,
            )
            args.cpu_per_instance = 0
    print(machine())
    if caps is not None:
        cap = (
            f"each instance capped at {args.cpu_per_instance:g} CPU ({where}: "
            f"{args.cpu_per_instance * PERIOD_US / 1000:g} ms of CPU per {PERIOD_US / 1000:g} ms "
            f"period), emulating one small host per instance; PostgreSQL, the generator and "
            f"the fake Bot API uncapped; all of them weighted 10x any other process on the machine"
        )
    else:
        cap = f"instances uncapped: they share this machine's {os.cpu_count()} cores"
    print(
        f"{args.updates} updates at saturation ({args.users} users in flight), then "
        f"{args.latency_updates} evenly spaced at "
        + (f"{args.rate:.0f} updates/s" if args.rate else f"{args.load:.0%} of one instance's capacity")
        + f"; TELEGRAM_RATE_LIMIT=false; CONCURRENT_UPDATES={concurrent}; {cap}; one run each",
        flush=True,
    )
    server = PostgresServer()
    server.start()
    assert server.proc is not None
    pg = server.proc.pid
    if caps is not None:  # the database and the generator: uncapped, not slowed by others
        stats = _processes()
        for pid in [*_tree(pg, stats), os.getpid()]:
            caps.add("measuring", pid, capped=False)
    results: dict[int, dict[str, Any]] = {}
    rate = args.rate
    try:
        # migrated once; each count starts from a fresh copy
        template = asyncio.run(_database(server, args.users)).rsplit("/", 1)[1]
        for count in counts:
            url = asyncio.run(_database(server, args.users, template))
            with tempfile.TemporaryDirectory() as tmp:
                res, codes = asyncio.run(_one_count(count, url, args, rate, pg, caps, Path(tmp)))
            if count == 1 or rate is None:
                rate = res["rate"]
            results[count] = res
            print(_report(count, res, args, codes), flush=True)
            FAILED.clear()
    finally:
        server.stop()
        if caps is not None:
            caps.close()
    if results:
        print(_summary(results, args, caps is not None, rate or 0.0))
    print(machine())


if __name__ == "__main__":
    main()
