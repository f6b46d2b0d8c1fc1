"""Upgrading a database that holds rows: a column added by a later migration must be
NOT NULL with a database default, or nullable, or the upgrade fails on a table with rows.

The guard reads every migration after 0001; the upgrade test runs the one case that broke
the rule (0003 added `inbox_messages.reasons`) on SQLite and PostgreSQL with a message
stored before it."""

from __future__ import annotations

import ast
import sqlite3
import uuid
from pathlib import Path

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.migrations.api import migrate

from storage.db import close_db, init_db, tortoise_config
from storage.models import InboxMessage
from tests.services import PostgresServer

MIGRATIONS = Path(__file__).resolve().parents[2] / "storage" / "migrations"
INSERT = (
    "INSERT INTO inbox_messages (id, message_id, folder, status, reason, sender, subject, received_at) "
    "VALUES (1, '<old@bank>', 'INBOX', 'processed', '', 'bank@example.com', 'Avis', {now})"
)


def _added_columns_without_default() -> list[str]:
    offenders = []
    for path in sorted(MIGRATIONS.glob("0*.py")):
        if path.name.startswith("0001"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "AddField"):
                continue
            field = next(k.value for k in node.keywords if k.arg == "field")
            assert isinstance(field, ast.Call)
            options = {k.arg: ast.unparse(k.value) for k in field.keywords}
            if options.get("null") != "True" and "db_default" not in options:
                offenders.append(f"{path.name}: {ast.unparse(node)[:120]}")
    return offenders


def test_every_added_column_can_be_added_to_a_table_with_rows() -> None:
    assert _added_columns_without_default() == []


async def _the_old_message_reads_back(url: str) -> None:
    await init_db(url, migrate=False)
    try:
        old = await InboxMessage.get(id=1)
        assert (old.message_id, old.reasons) == ("<old@bank>", [])
    finally:
        await close_db()


async def test_a_message_stored_before_0003_survives_the_upgrade_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/old.db"
    await migrate(config=tortoise_config(url), target="models.0002_frozen_documents_refunds")
    await Tortoise.close_connections()
    db = sqlite3.connect(tmp_path / "old.db")
    db.execute(INSERT.format(now="'2026-11-20 10:00:00+00:00'"))
    db.commit()
    db.close()
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    await _the_old_message_reads_back(url)


async def test_the_same_upgrade_on_postgres(postgres_server: PostgresServer) -> None:
    name = f"inbox_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{postgres_server.url}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{postgres_server.url}/{name}"
    EXECUTOR_CACHE.clear()
    await migrate(config=tortoise_config(url), target="models.0002_frozen_documents_refunds")
    await Tortoise.close_connections()
    conn = await asyncpg.connect(url)
    await conn.execute(INSERT.format(now="now()"))
    await conn.close()
    EXECUTOR_CACHE.clear()
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    EXECUTOR_CACHE.clear()
    await _the_old_message_reads_back(url)
