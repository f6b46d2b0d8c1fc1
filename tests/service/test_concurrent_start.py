"""Several instances starting together on one fresh PostgreSQL database (a first deploy, or
a rolling upgrade): the migrations run once, the default funnel and warehouse are seeded
once, every instance starts."""

from __future__ import annotations

import asyncio
import sys
import uuid
from asyncio.subprocess import PIPE
from pathlib import Path

import asyncpg

from storage.pipeline import DEFAULT_STAGES
from tests.services import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
START = (
    "import asyncio, sys; from storage.db import init_db, close_db\n"
    "async def main():\n    await init_db(sys.argv[1])\n    await close_db()\n"
    "asyncio.run(main())"
)


async def test_instances_starting_together_migrate_and_seed_once(postgres_server: PostgresServer) -> None:
    name = f"start_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{postgres_server.url}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{postgres_server.url}/{name}"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", START, url, cwd=ROOT, stdout=PIPE, stderr=PIPE
        )
        for _ in range(4)
    ]
    outcomes = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), timeout=120)
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err[-2000:] for _, err in outcomes]
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM stages") == len(DEFAULT_STAGES)
        assert await conn.fetchval("SELECT count(*) FROM warehouses") == 1
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_indexes WHERE indexname = 'contacts_search_trgm'")
            == 1
        )
    finally:
        await conn.close()
