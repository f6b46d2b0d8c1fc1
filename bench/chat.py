"""Chat benchmark: 50,000 contacts, 100,000 deals, 10 users; 2,000 mixed commands; SQLite and PostgreSQL.

Drives the real Application (every handler, the access check, the error handler) through
the in-process `RecordingRequest`, exactly as the dialog tests do, and prints p50/p99
latency per command kind, the overall throughput, and the SQL statements each kind runs
(counted by the drivers in a second pass over 300 commands: SQLite's trace hook, asyncpg's
query logger); then the same stream through a bare echo handler, the floor of what PTB
itself costs. PostgreSQL is a throwaway server started as the tests start it
(`tests/services.py`), or the server given by `--database-url`.

    .venv/bin/python -m bench.chat [--db sqlite|postgres|both] [--database-url URL]
        [--contacts 50000] [--deals 100000] [--commands 2000] [--show-queries] [--quick]

Targets on one core, on each engine: p99 <= 25 ms for every kind, /pipeline <= 50 ms,
>= 200 commands/s. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
from telegram import Update
from telegram.ext import Application, MessageHandler, filters
from tortoise import connections
from tortoise.backends.base.executor import EXECUTOR_CACHE

import storage.db
from bench import machine
from bot.__main__ import bootstrap
from bot.app import build_application
from bot.settings import Settings
from bot.transport import RecordingRequest
from storage.contacts import make_search_key
from storage.db import close_db, init_db
from storage.models import Contact, Deal, Role, Stage, User
from storage.sql import trace_reader
from tests.services import PostgresServer

FIRST = [
    "Ann",
    "Bob",
    "Chloé",
    "David",
    "Emma",
    "Farid",
    "Gaëlle",
    "Hugo",
    "Inès",
    "Jules",
    "Karim",
    "Léa",
    "Marc",
    "Nina",
    "Oscar",
    "Paul",
    "Quentin",
    "Rose",
    "Sami",
    "Théo",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
]
COMPANIES = ["ACME", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Cyberdyne"]
KINDS = ("search", "contact", "deal", "move", "newdeal", "pipeline")
WEIGHTS = (30, 20, 20, 15, 10, 5)


async def build_data(n_contacts: int, n_deals: int, rng: random.Random) -> dict[str, Any]:
    """10 users (1 admin, 1 manager, 8 sales), contacts and deals, by `bulk_create` (the
    ORM's public bulk insert: the same rows on SQLite and PostgreSQL)."""
    users = [
        await User.create(name="admin", role=Role.ADMIN, telegram_id=1000, language="en"),
        await User.create(name="manager", role=Role.MANAGER, telegram_id=1001, language="en"),
    ]
    for i in range(8):
        users.append(
            await User.create(
                name=f"sales{i}", role=Role.SALES, telegram_id=1010 + i, language=rng.choice(["en", "fr"])
            )
        )
    sales = users[2:]
    contacts = []
    for i in range(1, n_contacts + 1):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}"
        phone = f"+336{rng.randrange(10**8):08d}"
        email = f"c{i}@{rng.choice(COMPANIES).lower()}.example"
        contacts.append(
            Contact(
                name=name,
                search_key=make_search_key(name, phone, email),
                phone=phone,
                email=email,
                owner_id=rng.choice(sales).id,
                shared=rng.random() < 0.1,
            )
        )
    await Contact.bulk_create(contacts, batch_size=5_000)
    owner_of = dict(await Contact.all().order_by("id").values_list("id", "owner_id"))
    contact_ids = list(owner_of)
    stage_ids = [s.id for s in await Stage.all().order_by("position")]
    deals = []
    for i in range(1, n_deals + 1):
        contact_id = rng.choice(contact_ids)
        deals.append(
            Deal(
                contact_id=contact_id,
                owner_id=owner_of[contact_id],
                title=f"Deal {i}",
                amount_cents=rng.randrange(100, 10**7),
                currency="EUR",
                stage_id=rng.choice(stage_ids),
            )
        )
    await Deal.bulk_create(deals, batch_size=5_000)
    conn = connections.get("default")
    # Statistics, and on PostgreSQL the visibility map autovacuum keeps (index-only scans).
    await conn.execute_script("VACUUM ANALYZE" if conn.capabilities.dialect == "postgres" else "ANALYZE")
    contacts_of: dict[int, list[int]] = defaultdict(list)
    for cid, oid in owner_of.items():
        contacts_of[oid].append(cid)
    deals_of: dict[int, list[int]] = defaultdict(list)
    for did, oid in await Deal.all().values_list("id", "owner_id"):
        deals_of[oid].append(did)
    return {"users": users, "sales": sales, "contacts_of": contacts_of, "deals_of": deals_of}


def plan(data: dict[str, Any], n: int, rng: random.Random) -> list[tuple[str, User, str]]:
    """The mixed command stream: (kind, who, text)."""
    open_stages = ["Lead", "Qualified", "Proposal", "Negotiation"]
    out = []
    for _ in range(n):
        kind = rng.choices(KINDS, WEIGHTS)[0]
        who: User = rng.choice(data["sales"]) if rng.random() < 0.9 else data["users"][1]
        mine_c = data["contacts_of"][who.id] or data["contacts_of"][data["sales"][0].id]
        mine_d = data["deals_of"][who.id] or data["deals_of"][data["sales"][0].id]
        if kind == "search":
            text = "/contacts " + rng.choice(
                [
                    rng.choice(LAST),
                    rng.choice(FIRST).lower(),
                    f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    rng.choice(COMPANIES).lower(),
                    f"06{rng.randrange(10**8):08d}"[:8],
                    f"c{rng.randrange(1, 50_000)}@",
                ]
            )
        elif kind == "contact":
            text = f"/contact C{rng.choice(mine_c)}"
        elif kind == "deal":
            text = f"/deal D{rng.choice(mine_d)}"
        elif kind == "move":
            text = f"/move D{rng.choice(mine_d)} {rng.choice(open_stages)}"
        elif kind == "newdeal":
            text = f"/newdeal C{rng.choice(mine_c)} | Bench deal | {rng.randrange(1, 99)} 000,50"
        else:
            text = "/pipeline"
        out.append((kind, who, text))
    return out


def message(update_id: int, telegram_id: int, text: str, bot: Any) -> Update:
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    payload = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": telegram_id, "type": "private"},
            "from": {"id": telegram_id, "is_bot": False, "first_name": "b", "language_code": "en"},
            "text": text,
            "entities": entities if text.startswith("/") else [],
        },
    }
    return Update.de_json(payload, bot)


async def drive(app: Any, stream: list[tuple[str, User, str]]) -> tuple[dict[str, list[float]], float, float]:
    """Process every command; per-kind latencies in ms, the wall time and the CPU time in s
    (CPU time of this process, the SQLite thread included: steadier on a shared machine)."""
    latencies: dict[str, list[float]] = defaultdict(list)
    start, cpu = time.perf_counter(), time.process_time()
    for i, (kind, who, text) in enumerate(stream, start=1):
        update = message(i, who.telegram_id or 0, text, app.bot)
        t0 = time.perf_counter()
        await app.process_update(update)
        latencies[kind].append((time.perf_counter() - t0) * 1000)
    return latencies, time.perf_counter() - start, time.process_time() - cpu


class Statements:
    """Every SQL statement the database runs while `on`, as the drivers see them: SQLite's
    trace hook on the ORM's connection and on the inline reader, asyncpg's query logger on
    every pooled PostgreSQL connection. BEGIN/COMMIT are statements too (round trips)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.on = False

    def __call__(self, sql: object) -> None:
        text = str(getattr(sql, "query", sql))
        if self.on and not text.startswith("--"):  # "-- trigger": a trigger's own statements
            self.seen.append(text)


STATEMENTS = Statements()
_pg_connections: weakref.WeakSet[asyncpg.Connection] = weakref.WeakSet()


class CountingConnection(storage.db.PooledConnection):
    """The product's pooled connection, registered so its queries can be logged (asyncpg's
    query logger) while counting."""

    with_reset = False  # --asyncpg-reset: asyncpg's default reset query on every release (before)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _pg_connections.add(self)

    def get_reset_query(self) -> str:
        return str(asyncpg.Connection.get_reset_query(self)) if self.with_reset else super().get_reset_query()


async def count_statements(app: Any, stream: list[tuple[str, User, str]]) -> dict[str, list[list[str]]]:
    """The statements of each command, by kind (a separate pass: tracing costs time)."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        async with conn.acquire_connection() as raw:
            await raw.set_trace_callback(STATEMENTS)
        trace_reader(STATEMENTS)
    for pg in list(_pg_connections):  # only while counting: logging costs time
        pg.add_query_logger(STATEMENTS)
    out: dict[str, list[list[str]]] = defaultdict(list)
    STATEMENTS.on = True
    for i, (kind, who, text) in enumerate(stream, start=1):
        before = len(STATEMENTS.seen)
        await app.process_update(message(10**6 + i, who.telegram_id or 0, text, app.bot))
        await asyncio.sleep(0)  # asyncpg calls its loggers soon after the query
        out[kind].append(STATEMENTS.seen[before:])
    STATEMENTS.on = False
    for pg in list(_pg_connections):
        pg.remove_query_logger(STATEMENTS)
    if conn.capabilities.dialect == "sqlite":
        trace_reader(None)
        async with conn.acquire_connection() as raw:
            await raw.set_trace_callback(None)
    return out


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def report(
    title: str,
    latencies: dict[str, list[float]],
    wall: float,
    cpu: float,
    statements: dict[str, list[list[str]]] | None = None,
) -> dict[str, float]:
    total = sum(len(v) for v in latencies.values())
    print(
        f"\n{title}: {total} commands in {wall:.2f} s = {total / wall:.0f} commands/s "
        f"(CPU {cpu / total * 1000:.2f} ms per command in this process)"
    )
    header = f"  {'kind':<10} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    print(header + ("   queries per command: mean (min-max), of which BEGIN/COMMIT" if statements else ""))
    p99s = {}
    for kind, values in sorted(latencies.items()):
        p99s[kind] = percentile(values, 0.99)
        line = (
            f"  {kind:<10} {len(values):>5} {statistics.median(values):>8.2f} {p99s[kind]:>8.2f} "
            f"{max(values):>8.2f}"
        )
        if statements and statements.get(kind):
            counts = [len(s) for s in statements[kind]]
            control = [
                sum(1 for q in s if q.split()[0].rstrip(";").upper() in TRANSACTION) for s in statements[kind]
            ]
            line += (
                f"   {statistics.mean(counts):5.1f} ({min(counts)}-{max(counts)}), "
                f"{statistics.mean(control):.1f}"
            )
        print(line)
    p99s["throughput"] = total / wall
    return p99s


TRANSACTION = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def verdict(figures: dict[str, float]) -> str:
    missed = [
        f"{kind} p99 {value:.1f} ms > {limit} ms"
        for kind, value in figures.items()
        if kind != "throughput" and value > (limit := 50 if kind == "pipeline" else 25)
    ]
    if figures["throughput"] < TARGET_RATE:
        missed.append(f"{figures['throughput']:.0f} commands/s < {TARGET_RATE}")
    return "targets met" if not missed else "targets MISSED: " + "; ".join(missed)


TARGET_RATE = 200


@contextlib.asynccontextmanager
async def database(engine: str, tmp: Path, server_url: str | None) -> AsyncIterator[str]:
    """A fresh database of this engine: a SQLite file, or a new database in PostgreSQL
    (a throwaway server as the tests start it, unless a server URL was given)."""
    EXECUTOR_CACHE.clear()  # prepared SQL of the other dialect must not be reused
    if engine == "sqlite":
        yield f"sqlite://{tmp / 'bench.db'}"
        return
    server = None
    if server_url is None:
        server = PostgresServer()
        server.start()
        server_url = server.url
    name = f"bench_{os.getpid()}_{int(time.time())}"
    try:
        admin = await asyncpg.connect(f"{server_url}/postgres")
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        yield f"{server_url}/{name}"
    finally:
        try:
            admin = await asyncpg.connect(f"{server_url}/postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
        finally:
            if server is not None:
                server.stop()


async def run(engine: str, args: argparse.Namespace) -> tuple[dict[str, float], list[tuple[str, User, str]]]:
    rng = random.Random(args.seed)
    print(f"\n=== {engine} === {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        async with database(engine, Path(tmp), args.database_url) as url:
            settings = Settings(
                _env_file=None,
                database_url=url,
                var_dir=Path(tmp),  # type: ignore[call-arg]
                default_language="en",
                timezone="Europe/Paris",
            )
            t0 = time.perf_counter()
            try:
                await init_db(url, migrate=False, generate=True)
                data = await build_data(args.contacts, args.deals, rng)
                print(
                    f"built {args.contacts} contacts, {args.deals} deals, {len(data['users'])} users "
                    f"in {time.perf_counter() - t0:.1f} s"
                )
                stream = plan(data, args.commands, rng)
                counted = plan(data, min(args.commands, 300), random.Random(args.seed + 1))
                request = RecordingRequest(settings.bot_username)
                app = build_application(bootstrap(settings), request=request, rate_limit=False, jobs=False)
                errors: list[BaseException] = []

                async def on_error(update: object, ctx: Any) -> None:
                    if ctx.error is not None:
                        errors.append(ctx.error)

                app.add_error_handler(on_error)
                async with app:
                    await drive(app, stream[:50])  # warm-up (imports, caches, prepared statements)
                    request.clear()
                    latencies, wall, cpu = await drive(app, stream)
                    statements = await count_statements(app, counted)
                figures = report(f"Entonnoir handlers on {engine}", latencies, wall, cpu, statements)
                print(f"  {verdict(figures)}")
                if args.show_queries:
                    for kind, runs in sorted(statements.items()):
                        print(f"\n  {kind}, one command:")
                        for sql in max(runs, key=len):
                            print(f"    {' '.join(sql.split())[:160]}")
                if errors:
                    kinds = sorted({f"{type(e).__name__}: {e}" for e in errors})[:5]
                    print(f"  {len(errors)} errors answered (user mistakes included): {kinds}")
            finally:
                await close_db()
    return figures, stream


async def echo_floor(stream: list[tuple[str, User, str]]) -> None:
    """The same command stream through a bare echo handler: what PTB itself costs."""
    echo_app = (
        Application.builder()
        .token("0:bench")
        .request(RecordingRequest())
        .get_updates_request(RecordingRequest())
        .job_queue(None)
        .build()
    )

    async def echo(update: Update, ctx: Any) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    echo_app.add_handler(MessageHandler(filters.TEXT, echo))
    async with echo_app:
        await drive(echo_app, stream[:50])
        latencies, wall, cpu = await drive(echo_app, stream)
    report("bare echo handler (reference)", latencies, wall, cpu)


async def main(args: argparse.Namespace) -> None:
    storage.db.PooledConnection = CountingConnection  # type: ignore[misc]  # the class the config names
    CountingConnection.with_reset = args.asyncpg_reset
    engines = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: dict[str, dict[str, float]] = {}
    stream: list[tuple[str, User, str]] = []
    for engine in engines:
        results[engine], stream = await run(engine, args)
    await echo_floor(stream)
    print()
    for engine, figures in results.items():
        print(f"{engine}: {figures['throughput']:.0f} commands/s; {verdict(figures)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--commands", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to use (postgres://user@host:port; a fresh database is created "
        "in it and dropped after) instead of starting a throwaway one",
    )
    parser.add_argument(
        "--asyncpg-reset",
        action="store_true",
        help="PostgreSQL: let asyncpg reset each connection the pool takes back (its default), "
        "to measure what the product's pooled connection saves",
    )
    parser.add_argument("--show-queries", action="store_true", help="print each kind's statements")
    parser.add_argument("--quick", action="store_true", help="1,000 contacts, 2,000 deals, 200 commands")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.contacts, arguments.deals, arguments.commands = 1_000, 2_000, 200
    asyncio.run(main(arguments))
