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
        "postgres",
        "db.local",
        6543,
        "crm",
        "entonnoir",
    )
    assert pg.password == "s@cret" and "s@cret" not in " ".join(pg.pg_args())
    with pytest.raises(InvalidInput):
        parse_url("sqlite://:memory:")
    with pytest.raises(InvalidInput):
        parse_url("mysql://x/y")


def _psql(server: PostgresServer, database: str, sql: str) -> str:
    return subprocess.run(
        [
            pg_tool("psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(server.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ],
        check=True,
        capture_output=True,
        text=True,
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
    assert _psql(postgres_server, "restored", "SELECT name, phone FROM contacts") == ("Ann Lee|+33612345678")
    assert _psql(postgres_server, "restored", "SELECT count(*) FROM stages") == "6"
    with pytest.raises(Conflict):
        await restore(target, snap)


def _writer(path: str, stop_after: float) -> None:  # another process: the running bot
    import sqlite3 as s3
    import time as t

    con = s3.connect(path, timeout=30)
    end = t.monotonic() + stop_after
    i = 0
    while t.monotonic() < end:
        with con:
            con.execute("INSERT INTO app_settings (key, value) VALUES (?, '1')", (f"w{i}",))
        i += 1
    con.close()


async def test_sqlite_backup_completes_in_seconds_under_a_steady_writer(tmp_path: Path) -> None:
    import multiprocessing
    import time

    live = tmp_path / "live.db"
    con = sqlite3.connect(live)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE app_settings (key TEXT PRIMARY KEY, value TEXT)")
    con.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, blob BLOB)")
    with con:  # about 40 MB: 10,000 pages, ten steps of the old 1,024-page copy
        con.executemany("INSERT INTO filler (blob) VALUES (?)", ((b"x" * 4000,) for _ in range(10_000)))
    con.close()
    writer = multiprocessing.get_context("spawn").Process(target=_writer, args=(str(live), 20))
    writer.start()
    try:
        await asyncio.sleep(0.5)  # the writer commits continuously from now on
        started = time.monotonic()
        snap = await backup(f"sqlite://{live}", tmp_path / "snap.db")
        elapsed = time.monotonic() - started
    finally:
        writer.terminate()
        writer.join()
    assert elapsed < 10, elapsed
    check = sqlite3.connect(snap)
    assert check.execute("SELECT count(*) FROM filler").fetchone() == (10_000,)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    check.close()


async def test_restore_refuses_a_database_with_rows_in_any_table(tmp_path: Path) -> None:
    snap = tmp_path / "snap.db"
    sqlite3.connect(snap).execute("CREATE TABLE t (x)").connection.close()
    target = tmp_path / "target.db"
    con = sqlite3.connect(target)
    with con:
        con.execute("CREATE TABLE tortoise_migrations (app TEXT, name TEXT)")
        con.execute("INSERT INTO tortoise_migrations VALUES ('models', '0001_initial')")
        con.execute("CREATE TABLE stock_moves (id INTEGER)")
    con.close()
    await restore(f"sqlite://{target}", snap)  # only the migrations' bookkeeping: empty
    con = sqlite3.connect(target)
    with con:
        con.execute("CREATE TABLE IF NOT EXISTS stock_moves (id INTEGER)")
        con.execute("INSERT INTO stock_moves VALUES (1)")  # not a user, contact or invoice
    con.close()
    with pytest.raises(Conflict):
        await restore(f"sqlite://{target}", snap)
