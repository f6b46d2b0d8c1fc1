"""The trigram index of contacts (SQLite FTS5) and the inline reader of `storage.sql`:
faster paths that must give exactly what the plain ones give."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import uuid
from pathlib import Path

import asyncpg
import pytest
from tortoise import connections
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from storage import search_index, sql
from storage.contacts import NewContact, create_contact, make_search_key, search_contacts
from storage.db import close_db, init_db
from storage.models import Contact, Role, Stage
from storage.pipeline import stages
from storage.users import create_user
from tests.services import PostgresServer

FIRST = ["Ann", "Zoé", "Marc", "Léa", "Hugo", "Sean"]
LAST = ["Martin", "Dubois", 'O"Brien', "l'Huillier", "Petit_Roux", "100% Bio"]
NEEDLES = [
    "martin",
    "ann",
    "zoé",
    'o"brien',
    "l'hui",
    "petit_roux",
    "_",
    "100%",
    "% bio",
    "ann martin",
    "acme.example",
    "0612",
    "06 12 34",
    "612345",
    "+336",
    "c7@",
    "xyz",
    "ma",
    "é",
    "",
    "  dubois  ",
    "ÉTÉ",
    "ann\x00martin",
    "\\",
    "c7@\x00",
]


async def _people(n: int) -> tuple[list[object], list[object]]:
    rng = random.Random(5)
    sales = [await create_user(f"s{i}", Role.SALES) for i in range(2)]
    boss = await create_user("boss", Role.MANAGER)
    for i in range(n):
        owner = rng.choice(sales)
        data = NewContact(
            f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}",
            phone=f"06 12 {rng.randrange(10**6):06d}",
            email=f"c{i}@acme.example",
            shared=rng.random() < 0.2,
        )
        await create_contact(owner, data, region="FR", force=True)
    return [*sales, boss], sales


async def test_the_index_gives_what_reading_every_key_gives(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    people, _ = await _people(80)
    assert await search_index.candidates(["c7@"]) is not None  # the index answers here
    monkeypatch.setattr(search_index, "CAP", 6)  # common needles overflow: the walk answers
    for limit in (3, 10, 100):
        for person in people:
            for needle in NEEDLES:
                with_index = await search_contacts(person, needle, limit)  # type: ignore[arg-type]
                ready = search_index._ready_for
                monkeypatch.setattr(search_index, "_ready_for", None)
                walked = await search_contacts(person, needle, limit)  # type: ignore[arg-type]
                monkeypatch.setattr(search_index, "_ready_for", ready)
                assert [c.id for c in with_index] == [c.id for c in walked], (needle, limit)


async def test_short_needles_and_common_ones_are_not_answered_by_the_index(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _people(30)
    assert await search_index.candidates(["ma"]) is None  # under three characters
    assert await search_index.candidates([]) is None
    monkeypatch.setattr(search_index, "CAP", 5)
    assert await search_index.candidates(["acme.example"]) is None  # 30 hits > CAP
    hits = await search_index.candidates(["c7@acme", "c12@"])
    assert hits is not None and len(hits) == 2


async def test_the_index_follows_every_insert_update_and_delete(db: str) -> None:
    alice = await create_user("alice", Role.SALES)
    ann = await create_contact(alice, NewContact("Ann Lee"), region="FR")
    assert await search_index.candidates(["ann lee"]) == [ann.id]
    await Contact.filter(id=ann.id).update(name="Ann Zhao", search_key=make_search_key("Ann Zhao"))
    assert await search_index.candidates(["ann lee"]) == []
    assert [c.id for c in await search_contacts(alice, "zhao")] == [ann.id]
    await Contact.filter(id=ann.id).delete()
    assert await search_index.candidates(["zhao"]) == []
    assert await search_contacts(alice, "zhao") == []


async def test_a_database_without_a_complete_index_gets_it_filled_at_start(
    tmp_path: Path,
) -> None:
    url = f"sqlite://{tmp_path}/old.db"
    await init_db(url)
    alice = await create_user("alice", Role.SALES)
    ann = await create_contact(alice, NewContact("Ann Lee", email="ann@lee.example"), region="FR")
    conn = connections.get("default")
    await conn.execute_script(  # a database from before the index
        "DROP TRIGGER contacts_fts_insert; DROP TRIGGER contacts_fts_update; "
        "DROP TRIGGER contacts_fts_delete; DROP TABLE contacts_fts;"
    )
    await close_db()
    await init_db(url)
    try:
        assert await search_index.candidates(["ann@lee"]) == [ann.id]
        bob = await create_contact(alice, NewContact("Bob Lee"), region="FR")
        assert await search_index.candidates(["bob lee"]) == [bob.id]  # triggers are back
        # A build cut short, or rows written while the triggers were missing: rebuilt.
        await connections.get("default").execute_query(
            "INSERT INTO contacts_fts(contacts_fts) VALUES ('delete-all')"
        )
        assert await search_index.candidates(["bob lee"]) == []
        await close_db()
        await init_db(url)
        assert [c.id for c in await search_contacts(alice, "lee")] == [ann.id, bob.id]
        assert await search_index.candidates(["bob lee"]) == [bob.id]
    finally:
        await close_db()


async def test_an_index_that_cannot_be_built_leaves_nothing_and_search_walks(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await create_user("alice", Role.SALES)
    ann = await create_contact(alice, NewContact("Ann Lee"), region="FR")
    conn = connections.get("default")
    await conn.execute_script(
        "DROP TRIGGER contacts_fts_insert; DROP TRIGGER contacts_fts_update; "
        "DROP TRIGGER contacts_fts_delete; DROP TABLE contacts_fts;"
    )  # as on a SQLite without FTS5: the table is created, then the next statement fails
    monkeypatch.setattr(search_index, "_DDL", search_index._DDL + "CREATE TRIGGER broken;")
    assert await search_index.ensure_search_index() is False
    tables = await conn.execute_query_dict("SELECT name FROM sqlite_master WHERE name LIKE 'contacts_fts%'")
    assert tables == []  # rolled back whole
    assert [c.id for c in await search_contacts(alice, "ann lee")] == [ann.id]
    await create_contact(alice, NewContact("Bob Lee"), region="FR")  # no trigger to trip on


async def test_both_engines_answer_rare_texts_from_their_trigram_index(any_db: str) -> None:
    assert await search_index.ensure_search_index() is True  # FTS5 on SQLite, pg_trgm on PostgreSQL
    alice = await create_user("alice", Role.SALES)
    ann = await create_contact(alice, NewContact("Ann Lee", email="ann_100%@lee.example"), region="FR")
    bob = await create_contact(alice, NewContact("Bob Lee"), region="FR")
    assert await search_index.candidates(["ann lee"]) == [ann.id]
    assert await search_index.candidates(["_100%"]) == [ann.id]  # LIKE's wildcards are literal
    assert await search_index.candidates(["zhao"]) == []
    assert await search_index.candidates(["le"]) is None  # too short for trigrams: the walk
    assert sorted(await search_index.candidates(["lee"]) or []) == [ann.id, bob.id]
    assert [c.id for c in await search_contacts(alice, "ann lee")] == [ann.id]
    await Contact.filter(id=bob.id).update(search_key="bob zhao")  # the index follows every write
    assert await search_index.candidates(["zhao"]) == [bob.id]
    if any_db == "postgres":
        rows = await sql.fetch("SELECT indexdef FROM pg_indexes WHERE indexname = 'contacts_search_trgm'")
        assert "gin_trgm_ops" in rows[0]["indexdef"]


async def test_more_hits_than_the_cap_fall_back_to_the_walk(any_db: str) -> None:
    alice = await create_user("alice", Role.SALES)
    for i in range(search_index.CAP + 1):
        await create_contact(alice, NewContact(f"Martin {i}"), region="FR")
    assert await search_index.candidates(["martin"]) is None
    assert len(await search_contacts(alice, "martin", limit=5)) == 5


async def test_a_read_during_another_tasks_transaction_waits_for_its_commit(db: str) -> None:
    first = (await stages())[0]
    written, release = asyncio.Event(), asyncio.Event()

    async def edit_in_a_transaction() -> None:
        async with in_transaction():
            stage = await Stage.get(id=first.id)
            stage.probability = 77
            await stage.save()  # clears the stage cache before the commit
            written.set()
            await release.wait()

    writer = asyncio.create_task(edit_in_a_transaction())
    await written.wait()
    reader = asyncio.create_task(stages())  # must not cache the row from before the commit
    await asyncio.sleep(0.05)
    assert not reader.done()
    release.set()
    await writer
    assert (await reader)[0].probability == 77
    assert (await stages())[0].probability == 77


async def test_inline_reads_see_every_commit_and_a_transaction_reads_its_own_rows(
    db: str,
) -> None:
    alice = await create_user("alice", Role.SALES)
    await create_contact(alice, NewContact("Ann"), region="FR")
    names = "SELECT name FROM contacts ORDER BY id"
    assert [r["name"] for r in await sql.fetch(names)] == ["Ann"]
    assert sql._reader is not None  # the read above took the inline reader
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await create_contact(alice, NewContact("Bob"), region="FR")
            # inside the transaction: its own connection, its uncommitted row
            assert [r["name"] for r in await sql.fetch(names)] == ["Ann", "Bob"]
            raise RuntimeError("roll back")
    assert [r["name"] for r in await sql.fetch(names)] == ["Ann"]
    async with in_transaction():
        await create_contact(alice, NewContact("Chloé"), region="FR")
    assert [r["name"] for r in await sql.fetch(names)] == ["Ann", "Chloé"]
    with pytest.raises(OperationalError):
        await sql.fetch("SELECT * FROM no_such_table")
    await sql.execute("UPDATE contacts SET name = ? WHERE name = ?", "Anne", "Ann")
    assert [r["name"] for r in await sql.fetch(names)] == ["Anne", "Chloé"]


def test_a_file_not_in_wal_mode_is_never_read_inline(tmp_path: Path) -> None:
    path = tmp_path / "rollback-journal.db"
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA journal_mode = DELETE")
        con.execute("CREATE TABLE t (x)")
    wal = tmp_path / "wal.db"
    with sqlite3.connect(wal) as con:
        con.execute("PRAGMA journal_mode = WAL")
    sql.close_reader()
    try:
        # a reader there could wait for a writer, on the event loop: reads stay on the ORM's
        assert sql._inline_reader(SqliteClient(str(path), connection_name="x")) is None
        assert sql._inline_reader(SqliteClient(str(wal), connection_name="y")) is not None
    finally:
        sql.close_reader()


def _fts_objects(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT type, name FROM sqlite_master WHERE name LIKE 'contacts_fts%' "
            "AND type IN ('table', 'trigger') ORDER BY type, name"
        ).fetchall()


async def test_the_migrations_create_the_index_and_its_triggers(tmp_path: Path) -> None:
    from storage.db import migrate_db

    path = tmp_path / "migrated.db"
    await migrate_db(f"sqlite://{path}")  # the migrations alone, no start-up repair
    objects = _fts_objects(path)
    assert ("table", "contacts_fts") in objects
    assert [n for t, n in objects if t == "trigger"] == [
        "contacts_fts_delete",
        "contacts_fts_insert",
        "contacts_fts_update",
    ]
    await init_db(f"sqlite://{path}")  # the start finds it complete; the triggers index writes
    try:
        alice = await create_user("alice", Role.SALES)
        zoe = await create_contact(alice, NewContact("Zoé Martin", email="zoe@ex.fr"), region="FR")
        assert await search_index.candidates(["zoe@ex"]) == [zoe.id]
    finally:
        await close_db()
    with sqlite3.connect(path) as db:
        assert db.execute(
            "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH '\"martin\"'"
        ).fetchall() == [(zoe.id,)]


async def test_a_postgres_user_who_may_not_create_pg_trgm_starts_and_keeps_the_walk(
    postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    suffix = uuid.uuid4().hex[:8]
    name, role = f"noext_{suffix}", f"clerk_{suffix}"
    admin = await asyncpg.connect(f"{postgres_server.url}/postgres")
    await admin.execute(f'CREATE ROLE "{role}" LOGIN')
    await admin.execute(f'CREATE DATABASE "{name}"')  # owned by postgres: no CREATE for the role
    await admin.close()
    admin = await asyncpg.connect(f"{postgres_server.url}/{name}")
    await admin.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')  # tables, not extensions
    await admin.close()
    EXECUTOR_CACHE.clear()  # prepared SQL of the SQLite dialect must not be reused
    url = postgres_server.url.replace("postgres@", f"{role}@", 1)
    with caplog.at_level(logging.WARNING):
        await init_db(f"{url}/{name}")  # the migrations, 0009 included, then the start-up check
    try:
        assert "pg_trgm" in caplog.text
        assert await search_index.ensure_search_index() is False
        alice = await create_user("alice", Role.SALES)
        ann = await create_contact(alice, NewContact("Ann Lee"), region="FR")
        assert await search_index.candidates(["ann lee"]) is None
        assert [c.id for c in await search_contacts(alice, "ann lee")] == [ann.id]
    finally:
        await close_db()
