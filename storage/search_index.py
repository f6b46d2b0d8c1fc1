"""A trigram index of the contacts' search keys (SQLite FTS5), kept up to date by triggers.

A search for a rare text (an email, a few phone digits, a full name) otherwise reads every
search key a person may see: 1-7 ms on 50,000 contacts. The trigram index answers "which
contacts contain this text" in a fraction of a millisecond, so `search_contacts` asks it
first and reads only those rows; for a common text (more than `CAP` hits) it keeps its
index walk in name order, which stops after the first page anyway.

The index is derived data, not a record: created at start-up when missing and filled from
the table (`ensure_search_index`), then maintained by triggers on every insert, update and
delete, whoever writes (the ORM, hand-written SQL, imports, a restore). A SQLite built
without FTS5 or older than 3.34 (no trigram tokenizer) keeps the walk; so does PostgreSQL.
"""

from __future__ import annotations

import logging
import sqlite3

from tortoise import connections
from tortoise.exceptions import OperationalError

from storage.sql import fetch

__all__ = ["CAP", "candidates", "ensure_search_index"]

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

_ready = False


async def ensure_search_index() -> bool:
    """Create (and fill) the index on SQLite if it is missing; True when searches may use it."""
    global _ready
    _ready = False
    conn = connections.get("default")
    if conn.capabilities.dialect != "sqlite":
        return False
    try:
        existing = await conn.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'contacts_fts'"
        )
        await conn.execute_script(_DDL)
        if not existing:
            await conn.execute_query("INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')")
    except (OperationalError, sqlite3.OperationalError) as exc:
        log.warning("no trigram full-text index on this SQLite (%s): searches read every key", exc)
        return False
    _ready = True
    return True


def _phrase(needle: str) -> str:
    return '"' + needle.replace('"', '""') + '"'


async def candidates(needles: list[str]) -> list[int] | None:
    """Ids of every contact whose search key contains one of the needles; None when the index
    cannot answer (PostgreSQL, no FTS5, a needle under 3 characters) or finds over `CAP`."""
    if not _ready or not needles or any(len(n) < MIN_LENGTH for n in needles):
        return None
    if connections.get("default").capabilities.dialect != "sqlite":
        return None
    rows = await fetch(
        "SELECT rowid AS id FROM contacts_fts WHERE contacts_fts MATCH ? LIMIT ?",
        " OR ".join(_phrase(n) for n in needles), CAP + 1,
    )
    if len(rows) > CAP:
        return None
    return [int(r["id"]) for r in rows]
