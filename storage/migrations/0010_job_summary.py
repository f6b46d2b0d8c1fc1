"""A job run's detail as catalogue messages, so /status says it in the reader's language."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0009_alert_actions")]

    operations = [
        ops.AddField(
            model_name="JobRun",
            name="summary",
            field=fields.JSONField(null=True),
        ),
    ]
