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
without FTS5 or older than 3.34 (no trigram tokenizer) keeps the walk; so does PostgreSQL.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3

from tortoise import connections
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.exceptions import OperationalError

from storage.sql import fetch

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

_ready_for: str | None = None  # the SQLite file whose index is known complete


async def ensure_search_index() -> bool:
    """Create (and fill) the index on SQLite when it is missing or incomplete; True when
    searches may use it. The build is one transaction: a start interrupted halfway leaves
    no index rather than an empty one. An index that does not list every contact (rows
    written while its triggers were missing, e.g. by a migration that rebuilt the table)
    is rebuilt."""
    global _ready_for
    _ready_for = None
    conn = connections.get("default")
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
    cannot answer (PostgreSQL, no FTS5, a needle under 3 characters or holding a NUL, which
    FTS5's query syntax cannot carry) or finds over `CAP`."""
    if not needles or any(len(n) < MIN_LENGTH or "\x00" in n for n in needles):
        return None
    conn = connections.get("default")
    if _ready_for is None or getattr(conn, "filename", None) != _ready_for:
        return None
    rows = await fetch(
        "SELECT rowid AS id FROM contacts_fts WHERE contacts_fts MATCH ? LIMIT ?",
        " OR ".join(_phrase(n) for n in needles),
        CAP + 1,
    )
    if len(rows) > CAP:
        return None
    return [int(r["id"]) for r in rows]
