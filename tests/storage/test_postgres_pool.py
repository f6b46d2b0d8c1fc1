"""The product's PostgreSQL pool (`storage.db`): one round trip per query outside
transactions (no reset query when a connection goes back to the pool), a transaction left
open still rolled back on release, and every statement planned for its values."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from tortoise import connections
from tortoise.backends.base.executor import EXECUTOR_CACHE

from storage.db import PooledConnection, close_db, init_db
from storage.models import Stage, User
from tests.services import PostgresServer


@pytest.fixture
async def product_pg(postgres_server: PostgresServer) -> AsyncIterator[None]:
    """A fresh database opened as the product opens it (`init_db`, its connection config)."""
    name = f"pool_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{postgres_server.url}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    EXECUTOR_CACHE.clear()  # prepared SQL of the SQLite dialect must not be reused
    await init_db(f"{postgres_server.url}/{name}", migrate=False, generate=True)
    try:
        yield
    finally:
        await close_db()


async def test_a_query_outside_transactions_is_one_statement(product_pg: None) -> None:
    conn = connections.get("default")
    seen: list[str] = []

    def log(record: Any) -> None:
        seen.append(record.query)

    async with conn.acquire_connection() as raw:
        assert isinstance(raw, PooledConnection)
        raw.add_query_logger(log)
        assert await raw.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
    await asyncio.sleep(0.05)  # asyncpg calls its loggers soon after each query
    assert seen == ["SHOW plan_cache_mode"]  # and no reset query on release
    await Stage.all().count()
    await User.all().count()
    await asyncio.sleep(0.05)
    assert len(seen) == 3, seen  # the pool's one connection served both: one statement each
    assert not any("RESET ALL" in q for q in seen)


async def test_a_transaction_left_open_is_still_rolled_back_on_release(product_pg: None) -> None:
    conn = connections.get("default")
    lead = await Stage.get(name="Lead")
    async with conn.acquire_connection() as raw:
        await raw.execute("BEGIN")
        await raw.execute("UPDATE stages SET probability = 99 WHERE id = $1", lead.id)
    await asyncio.sleep(0.05)
    assert (await Stage.get(id=lead.id)).probability == lead.probability
