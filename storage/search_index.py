"""A trigram index of the contacts' search keys (SQLite FTS5), kept up to date by triggers.

A search for a rare text (an email, a few phone digits, a full name) otherwise reads every
search key a person may see: 1-7 ms on 50,000 contacts. The trigram index answers "which
contacts contain this text" in a fraction of a millisecond, so `search_contacts` asks it
first and reads only those rows; for a common text (more than `CAP` hits) it keeps its
index walk in name order, which stops after the first page anyway.

The index is derived data, not a record. The migrations create it with its triggers
(`storage/migrations/*_search_index.py`, a frozen copy of `_DDL`); at start-up
`ensure_search_index` checks it (one transaction) and recreates or refills it when it is
missing or not listing every contact (a later migration that rebuilds the contacts table
drops its triggers). The triggers keep it on every insert, update and delete, whoever writes
(the ORM, hand-written SQL, imports, a restore). A SQLite built
without FTS5 or older than 3.34 (no trigram tokenizer) keeps the walk.

PostgreSQL has the same two steps with its own trigram index: a GIN index of `pg_trgm`
on `contacts.search_key` (migration `*_pg_search_index.py`; created at start when missing),
which PostgreSQL keeps itself. Without the extension (not installed on the server) searches
keep the walk there too.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.exceptions import OperationalError

from storage.sql import fetch, like_contains

__all__ = ["CAP", "candidates", "ensure_search_index", "forget_search_index"]

log = logging.getLogger(__name__)

CAP = 200  # more hits than this: the name-ordered walk finds the first page sooner
MIN_LENGTH = 3  # a trigram index cannot answer for one or two characters

_DDL = """
CREATE VIRTUAL TABLE IF NOT EXISTS contacts_fts USING fts5(
    search_key, content='contacts', content_rowid='id', tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts(rowid, search_key) VALUES (new.id, new.search_key);
END;
CREATE TRIGGER IF NOT EXISTS contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, search_key)
    VALUES ('delete', old.id, old.search_key);
END;
CREATE TRIGGER IF NOT EXISTS contacts_fts_update AFTER UPDATE OF search_key ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, search_key)
    VALUES ('delete', old.id, old.search_key);
    INSERT INTO contacts_fts(rowid, search_key) VALUES (new.id, new.search_key);
END;
"""

_ready_for: str | None = None  # the SQLite file whose index is known complete, or PG_READY
PG_READY = "postgres"
# Is the index there; can it be made (the extension installed, or available on the server
# and this user may create it: pg_trgm is a trusted extension, the database's owner may)?
PG_CHECK = (
    "SELECT (SELECT count(*) FROM pg_indexes WHERE indexname = 'contacts_search_trgm') AS idx, "
    "(EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') OR "
    "(EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') "
    "AND has_database_privilege(current_database(), 'CREATE'))) AS ext"
)
PG_DDL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS contacts_search_trgm ON contacts USING gin (search_key gin_trgm_ops)",
]


async def _ensure_pg_index(conn: BaseDBAsyncClient) -> bool:
    """The trigram index on PostgreSQL: present, or created when the server has pg_trgm."""
    found = await conn.execute_query_dict(PG_CHECK)
    if found[0]["idx"]:
        return True
    if not found[0]["ext"]:
        log.warning(
            "pg_trgm is neither installed in this database nor creatable by this user "
            "(the database owner can: CREATE EXTENSION pg_trgm): contact searches read every key"
        )
        return False
    for sql in PG_DDL:
        await conn.execute_script(sql)
    return True


async def ensure_search_index() -> bool:
    """Create (and fill) the index on SQLite when it is missing or incomplete; True when
    searches may use it. The build is one transaction: a start interrupted halfway leaves
    no index rather than an empty one. An index that does not list every contact (rows
    written while its triggers were missing, e.g. by a migration that rebuilt the table)
    is rebuilt."""
    global _ready_for
    _ready_for = None
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        if await _ensure_pg_index(conn):
            _ready_for = PG_READY
            return True
        return False
    if not isinstance(conn, SqliteClient):
        return False
    try:
        try:
            # One script: executescript() commits a pending transaction before it starts.
            await conn.execute_script(f"BEGIN IMMEDIATE;{_DDL}")
            rows = await conn.execute_query_dict(
                "SELECT (SELECT count(*) FROM contacts) AS contacts, "
                "(SELECT count(*) FROM contacts_fts_docsize) AS indexed"
            )
            if rows[0]["contacts"] != rows[0]["indexed"]:
                await conn.execute_query("INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')")
            await conn.execute_query("COMMIT")
        except BaseException:
            await _rollback(conn)
            raise
    except (OperationalError, sqlite3.OperationalError) as exc:
        log.warning("no trigram full-text index on this SQLite (%s): searches read every key", exc)
        return False
    _ready_for = conn.filename
    return True


async def _rollback(conn: SqliteClient) -> None:
    # the failed statement may have ended the transaction already
    with contextlib.suppress(OperationalError, sqlite3.OperationalError):
        await conn.execute_query("ROLLBACK")


def forget_search_index() -> None:
    """At close: the next database must be checked again by `ensure_search_index`."""
    global _ready_for
    _ready_for = None


def _phrase(needle: str) -> str:
    return '"' + needle.replace('"', '""') + '"'


async def candidates(needles: list[str]) -> list[int] | None:
    """Ids of every contact whose search key contains one of the needles; None when the index
    cannot answer (no FTS5 or pg_trgm, a needle under 3 characters or holding a NUL, which
    FTS5's query syntax cannot carry) or finds over `CAP`."""
    if not needles or any(len(n) < MIN_LENGTH or "\x00" in n for n in needles):
        return None
    conn = connections.get("default")
    if _ready_for == PG_READY and conn.capabilities.dialect == "postgres":
        rows = await fetch(  # the GIN trigram index answers LIKE '%...%' (3 characters or more)
            "SELECT id FROM contacts WHERE "  # noqa: S608  # fixed fragments; needles are parameters
            + " OR ".join("search_key LIKE ?" for _ in needles)  # the escape is \\ by default
            + " LIMIT ?",
            *(like_contains(n) for n in needles),
            CAP + 1,
        )
    elif _ready_for is None or getattr(conn, "filename", None) != _ready_for:
        return None
    else:
        rows = await fetch(
            "SELECT rowid AS id FROM contacts_fts WHERE contacts_fts MATCH ? LIMIT ?",
            " OR ".join(_phrase(n) for n in needles),
            CAP + 1,
        )
    if len(rows) > CAP:
        return None
    return [int(r["id"]) for r in rows]
