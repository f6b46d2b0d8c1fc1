"""The contacts' trigram full-text index (SQLite FTS5) and the triggers that keep it.

SQLite only: PostgreSQL searches with its own index walk, so there this migration does
nothing. A SQLite built without FTS5 or older than 3.34 (no trigram tokenizer) is left
without the index (searches read every key), as `storage.search_index` expects. The DDL is
copied here, frozen with the migration; `storage.search_index.ensure_search_index` keeps
checking at start that the index is complete and its triggers present (a later migration
that rebuilds the contacts table drops its triggers), and rebuilds it when it is not.
"""

import logging
import sqlite3

from tortoise import migrations
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.exceptions import OperationalError
from tortoise.migrations import operations as ops

log = logging.getLogger("storage.migrations")

CREATE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS contacts_fts USING fts5("
    "search_key, content='contacts', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS contacts_fts_insert AFTER INSERT ON contacts BEGIN "
    "INSERT INTO contacts_fts(rowid, search_key) VALUES (new.id, new.search_key); END",
    "CREATE TRIGGER IF NOT EXISTS contacts_fts_delete AFTER DELETE ON contacts BEGIN "
    "INSERT INTO contacts_fts(contacts_fts, rowid, search_key) "
    "VALUES ('delete', old.id, old.search_key); END",
    "CREATE TRIGGER IF NOT EXISTS contacts_fts_update AFTER UPDATE OF search_key ON contacts BEGIN "
    "INSERT INTO contacts_fts(contacts_fts, rowid, search_key) "
    "VALUES ('delete', old.id, old.search_key); "
    "INSERT INTO contacts_fts(rowid, search_key) VALUES (new.id, new.search_key); END",
    # the contacts already there
    "INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')",
]
DROP = [
    "DROP TRIGGER IF EXISTS contacts_fts_update",
    "DROP TRIGGER IF EXISTS contacts_fts_delete",
    "DROP TRIGGER IF EXISTS contacts_fts_insert",
    "DROP TABLE IF EXISTS contacts_fts",
]


async def _run(statements, schema_editor, tolerate_missing_fts5):
    client = schema_editor.client
    if not isinstance(client, SqliteClient):
        return
    try:
        await client.execute_query(statements[0])
    except (OperationalError, sqlite3.OperationalError) as exc:
        if not tolerate_missing_fts5:
            raise
        log.warning("no trigram full-text index on this SQLite (%s): searches read every key", exc)
        return
    for sql in statements[1:]:
        await client.execute_query(sql)


async def create_index(apps, schema_editor):
    await _run(CREATE, schema_editor, tolerate_missing_fts5=True)


async def drop_index(apps, schema_editor):
    await _run(DROP, schema_editor, tolerate_missing_fts5=False)


class Migration(migrations.Migration):
    dependencies = [("models", "0005_service")]

    initial = False

    operations = [
        ops.RunPython(create_index, drop_index),
    ]
