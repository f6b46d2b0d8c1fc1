"""A payment's notes as catalogue messages (`Payment.notes`), said in each reader's language.

Rows recorded before get an empty list (a database default, so that the column can be
added to a table that holds rows) and keep their English `note`, shown as written.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0011_pg_search_index")]

    operations = [
        ops.AddField(
            model_name="Payment",
            name="notes",
            field=fields.JSONField(default=list, db_default="[]"),
        ),
    ]
