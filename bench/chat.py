"""Chat benchmark: 50,000 contacts, 100,000 deals, 10 users in SQLite; 2,000 mixed commands.

Drives the real Application (every handler, the access check, the error handler) through
the in-process `RecordingRequest`, exactly as the dialog tests do, and prints p50/p99
latency per command kind and the overall throughput; then the same figures for a bare
echo handler in the same process, as the floor of what PTB itself costs.

    .venv/bin/python -m bench.chat [--contacts 50000] [--deals 100000] [--commands 2000] [--quick]

Targets on one core: p99 <= 25 ms for every kind, /pipeline <= 50 ms, >= 300 commands/s.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, MessageHandler, filters
from tortoise import Tortoise

from bench import machine
from bot.__main__ import bootstrap
from bot.app import build_application
from bot.settings import Settings
from bot.transport import RecordingRequest
from storage.contacts import make_search_key
from storage.db import close_db, init_db
from storage.models import Role, Stage, User

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
    """10 users (1 admin, 1 manager, 8 sales), contacts and deals, by bulk inserts."""
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
    conn = Tortoise.get_connection("default")
    now = datetime.now(UTC).isoformat(sep=" ")
    contact_rows: list[list[Any]] = []
    owners: list[int] = []
    for i in range(1, n_contacts + 1):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}"
        phone = f"+336{rng.randrange(10**8):08d}"
        email = f"c{i}@{rng.choice(COMPANIES).lower()}.example"
        owner = rng.choice(sales)
        owners.append(owner.id)
        contact_rows.append(
            [
                i,
                "person",
                name,
                make_search_key(name, phone, email),
                phone,
                email,
                "[]",
                "[]",
                owner.id,
                int(rng.random() < 0.1),
                "fr",
                now,
                now,
            ]
        )
    await conn.execute_many(
        "INSERT INTO contacts (id, kind, name, search_key, phone, email, extra_phones, "
        "extra_emails, owner_id, shared, invoice_language, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        contact_rows,
    )
    stage_ids = [s.id for s in await Stage.all().order_by("position")]
    deal_rows: list[list[Any]] = []
    deal_owner: dict[int, int] = {}
    for i in range(1, n_deals + 1):
        contact_id = rng.randrange(1, n_contacts + 1)
        owner_id = owners[contact_id - 1]
        deal_owner[i] = owner_id
        deal_rows.append(
            [
                i,
                contact_id,
                owner_id,
                f"Deal {i}",
                rng.randrange(100, 10**7),
                "EUR",
                rng.choice(stage_ids),
                now,
                now,
            ]
        )
    await conn.execute_many(
        "INSERT INTO deals (id, contact_id, owner_id, title, amount_cents, currency, stage_id, "
        "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
        deal_rows,
    )
    await conn.execute_script("ANALYZE")
    contacts_of: dict[int, list[int]] = defaultdict(list)
    for cid, oid in enumerate(owners, start=1):
        contacts_of[oid].append(cid)
    deals_of: dict[int, list[int]] = defaultdict(list)
    for did, oid in deal_owner.items():
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
    (CPU time of the whole process, the SQLite thread included: steadier on a shared machine)."""
    latencies: dict[str, list[float]] = defaultdict(list)
    start, cpu = time.perf_counter(), time.process_time()
    for i, (kind, who, text) in enumerate(stream, start=1):
        update = message(i, who.telegram_id or 0, text, app.bot)
        t0 = time.perf_counter()
        await app.process_update(update)
        latencies[kind].append((time.perf_counter() - t0) * 1000)
    return latencies, time.perf_counter() - start, time.process_time() - cpu


def report(title: str, latencies: dict[str, list[float]], wall: float, cpu: float) -> None:
    total = sum(len(v) for v in latencies.values())
    print(
        f"\n{title}: {total} commands in {wall:.2f} s = {total / wall:.0f} commands/s "
        f"(CPU {cpu / total * 1000:.2f} ms per command)"
    )
    print(f"  {'kind':<10} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind, values in sorted(latencies.items()):
        values = sorted(values)
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(
            f"  {kind:<10} {len(values):>5} {statistics.median(values):>8.2f} {p99:>8.2f} {values[-1]:>8.2f}"
        )


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite://{Path(tmp) / 'bench.db'}"
        settings = Settings(
            _env_file=None,
            database_url=url,
            var_dir=Path(tmp),  # type: ignore[call-arg]
            default_language="en",
            timezone="Europe/Paris",
        )
        t0 = time.perf_counter()
        await init_db(url, migrate=False, generate=True)
        data = await build_data(args.contacts, args.deals, rng)
        print(
            f"built {args.contacts} contacts, {args.deals} deals, {len(data['users'])} users "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        stream = plan(data, args.commands, rng)
        request = RecordingRequest(settings.bot_username)
        app = build_application(bootstrap(settings), request=request, rate_limit=False, jobs=False)
        errors: list[BaseException] = []

        async def on_error(update: object, ctx: Any) -> None:
            if ctx.error is not None:
                errors.append(ctx.error)

        app.add_error_handler(on_error)
        async with app:
            await drive(app, stream[:50])  # warm-up (imports, caches)
            request.clear()
            latencies, wall, cpu = await drive(app, stream)
        report("Entonnoir handlers", latencies, wall, cpu)
        if errors:
            kinds = sorted({f"{type(e).__name__}: {e}" for e in errors})[:5]
            print(f"  {len(errors)} errors answered (user mistakes included): {kinds}")

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
        report("bare echo handler", latencies, wall, cpu)
        await close_db()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="keep the database here (reused if present)")
    parser.add_argument("--commands", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1,000 contacts, 2,000 deals, 200 commands")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.contacts, arguments.deals, arguments.commands = 1_000, 2_000, 200
    asyncio.run(main(arguments))
