import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0002_frozen_documents_refunds")]

    operations = [
        ops.AddField(model_name="Payment", name="account",
                     field=fields.CharField(null=True, max_length=50)),
        ops.AddField(model_name="Payment", name="return_code",
                     field=fields.CharField(null=True, max_length=8)),
        ops.AddField(model_name="Payment", name="note", field=fields.TextField(null=True, unique=False)),
        ops.AddField(model_name="InboxMessage", name="reasons",
                     field=fields.JSONField(default=list, db_default="[]", encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
    ]
