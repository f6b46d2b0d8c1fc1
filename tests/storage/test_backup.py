"""Backups: SQLite's online backup API and pg_dump/pg_restore, restore only into empty databases."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from pathlib import Path

import pytest
from tortoise import connections
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import tortoise_test_context
from tortoise.transactions import in_transaction

from storage.backup import _pg_tool as pg_tool
from storage.backup import backup, parse_url, restore
from storage.contacts import NewContact, create_contact
from storage.errors import Conflict, InvalidInput
from storage.models import MODEL_MODULES, Contact, Role
from storage.pipeline import seed_stages
from storage.users import create_user
from tests.services import PostgresServer


def _names(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute("SELECT name FROM contacts ORDER BY id")]
    finally:
        con.close()


async def test_sqlite_snapshot_is_consistent_while_a_write_is_in_flight(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    EXECUTOR_CACHE.clear()
    async with tortoise_test_context(MODEL_MODULES, f"sqlite://{live}"):
        await seed_stages()
        boss = await create_user("boss", Role.MANAGER)
        await create_contact(boss, NewContact("Committed"), region="FR")
        async with in_transaction():
            await Contact.create(name="Not yet committed", owner=boss)
            snap = await backup(f"sqlite://{live}", tmp_path / "snap" / "entonnoir.db")
        assert _names(snap) == ["Committed"]
        with pytest.raises(Conflict) as err:
            await restore(f"sqlite://{live}", snap)
        assert err.value.code == "restore_not_empty"
    fresh = tmp_path / "fresh" / "entonnoir.db"
    await restore(f"sqlite://{fresh}", snap)
    assert _names(fresh) == ["Committed"]


async def test_restore_refuses_a_file_that_is_not_a_snapshot(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello, this is not SQLite" * 100)
    with pytest.raises(InvalidInput) as err:
        await restore(f"sqlite://{tmp_path}/new.db", bogus)
    assert err.value.code == "restore_bad_file"
    assert not (tmp_path / "new.db").exists()
    with pytest.raises(InvalidInput) as err:
        await restore(f"sqlite://{tmp_path}/new.db", tmp_path / "missing.db")
    assert err.value.code == "backup_missing"


def test_database_urls_are_understood() -> None:
    pg = parse_url("postgres://crm:s%40cret@db.local:6543/entonnoir")
    assert (pg.engine, pg.host, pg.port, pg.user, pg.database) == (
        "postgres", "db.local", 6543, "crm", "entonnoir")
    assert pg.password == "s@cret" and "s@cret" not in " ".join(pg.pg_args())
    with pytest.raises(InvalidInput):
        parse_url("sqlite://:memory:")
    with pytest.raises(InvalidInput):
        parse_url("mysql://x/y")


def _psql(server: PostgresServer, database: str, sql: str) -> str:
    return subprocess.run(
        [pg_tool("psql"), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
         "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


async def test_postgres_dump_and_restore_into_an_empty_database(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    EXECUTOR_CACHE.clear()
    async with tortoise_test_context(MODEL_MODULES, f"{postgres_server.url}/test_{{}}"):
        source = f"{postgres_server.url}/{connections.get('default').database}"
        await seed_stages()
        boss = await create_user("boss", Role.MANAGER)
        await create_contact(boss, NewContact("Ann Lee", phone="0612345678"), region="FR")
        snap = await backup(source, tmp_path / "entonnoir.pgdump")
        assert snap.read_bytes()[:5] == b"PGDMP"
        with pytest.raises(Conflict):
            await restore(source, snap)
    await asyncio.to_thread(_psql, postgres_server, "postgres", "CREATE DATABASE restored")
    target = f"{postgres_server.url}/restored"
    await restore(target, snap)
    assert _psql(postgres_server, "restored", "SELECT name, phone FROM contacts") == (
        "Ann Lee|+33612345678")
    assert _psql(postgres_server, "restored", "SELECT count(*) FROM stages") == "6"
    with pytest.raises(Conflict):
        await restore(target, snap)
