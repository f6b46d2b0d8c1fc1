"""Running as a service: alert claims, job-run claims, one draft purchase order per supplier."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0004_invoice_vat")]

    operations = [
        ops.CreateModel(
            name="ChatState",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True,
                                       db_index=True)),
                ("kind", fields.CharField(max_length=16)),
                ("key", fields.CharField(max_length=200)),
                ("data", fields.JSONField(default=dict, encoder=functools.partial(
                    dumps, separators=(",", ":")), decoder=loads)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "chat_states", "app": "models",
                     "unique_together": (("kind", "key"),), "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Alert",
            name="claim_token",
            field=fields.CharField(null=True, db_index=True, max_length=32),
        ),
        ops.AddField(
            model_name="Alert",
            name="claimed_until",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="JobRun",
            name="claim_token",
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name="JobRun",
            name="lease_until",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        # Partial unique index (SQLite and PostgreSQL): two racing purchasing checks cannot
        # both draft an order for one supplier. Same SQL as storage.constraints.
        ops.RunSQL(
            "CREATE UNIQUE INDEX IF NOT EXISTS uniq_purchase_orders_draft_supplier "
            "ON purchase_orders (supplier_id) WHERE status = 'draft'",
            reverse_sql="DROP INDEX IF EXISTS uniq_purchase_orders_draft_supplier",
        ),
    ]
