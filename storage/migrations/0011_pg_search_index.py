"""The contacts' trigram index on PostgreSQL: `pg_trgm`'s GIN index of `search_key`.

PostgreSQL only (SQLite has its FTS5 index, migration 0006). A contact search for a rare
text asks it for the few matching contacts instead of reading every search key a person may
see (`storage.search_index`). `pg_trgm` ships with PostgreSQL (contrib) and is a trusted
extension: the database's owner may create it. A server without it (or a user who may not
create it) is left without the index, and searches read every key, as before. The DDL is frozen here;
`storage.search_index.ensure_search_index` creates the same index at start when missing.
"""

import logging

from tortoise import migrations
from tortoise.migrations import operations as ops

log = logging.getLogger("storage.migrations")

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS contacts_search_trgm ON contacts USING gin (search_key gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS contacts_search_trgm"]


async def create_index(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        return
    rows = await client.execute_query_dict(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') OR "
        "(EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') "
        "AND has_database_privilege(current_database(), 'CREATE')) AS ok"
    )
    if not rows[0]["ok"]:
        log.warning("pg_trgm cannot be created in this database: contact searches read every key")
        return
    for sql in CREATE:
        await client.execute_script(sql)


async def drop_index(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        for sql in DROP:
            await client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0010_job_summary")]

    initial = False

    operations = [
        ops.RunPython(create_index, drop_index),
    ]
