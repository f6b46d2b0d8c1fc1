"""The committed migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.models import Model

from storage import models
from storage.db import close_db, init_db
from storage.models import Stage, User, Warehouse
from storage.sql import fetch
from tests.services import PostgresServer


async def _every_model_selects() -> None:
    for name in models.__all__:
        model = getattr(models, name)
        if isinstance(model, type) and issubclass(model, Model):
            await model.all().limit(1)  # selects every column: fails if one is missing


async def test_migrations_build_every_table_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/fresh.db"
    await init_db(url)
    try:
        await _every_model_selects()
        assert await Stage.all().count() == 6
        assert await Warehouse.filter(name="main").exists()
    finally:
        await close_db()
    await init_db(url)  # a second start applies nothing and seeds nothing twice
    try:
        assert await Stage.all().count() == 6
        assert await User.all().count() == 0
    finally:
        await close_db()


async def test_migrations_build_every_table_on_postgres(postgres_server: PostgresServer) -> None:
    name = f"mig_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(f"{postgres_server.url}/postgres")
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    EXECUTOR_CACHE.clear()  # prepared SQL of the SQLite dialect must not be reused
    await init_db(f"{postgres_server.url}/{name}")
    try:
        await _every_model_selects()
        assert await Stage.all().count() == 6
        trgm = await fetch("SELECT indexdef FROM pg_indexes WHERE indexname = 'contacts_search_trgm'")
        assert "gin_trgm_ops" in trgm[0]["indexdef"]  # migration 0009
    finally:
        await close_db()
