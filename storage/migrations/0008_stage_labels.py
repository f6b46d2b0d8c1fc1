"""Stage names per language: a custom stage may carry a label for each language."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0007_einvoicing")]

    operations = [
        ops.AddField(
            model_name="Stage",
            name="labels",
            field=fields.JSONField(null=True),
        ),
    ]
