"""Side effects as rows: outbox emails, alerts; plus job runs and app settings."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class AlertStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class OutboxEmail(Model):
    id = fields.IntField(primary_key=True)
    dedupe_key = fields.CharField(max_length=200, unique=True)
    message_id = fields.CharField(max_length=200, unique=True)
    to_addrs = fields.JSONField()
    reply_to = fields.CharField(max_length=254, null=True)
    subject = fields.CharField(max_length=300)
    body_text = fields.TextField()
    body_html = fields.TextField(null=True)
    status = fields.CharEnumField(
        OutboxStatus, max_length=8, default=OutboxStatus.PENDING, db_index=True
    )
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True, db_index=True)
    claimed_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    owner = fields.ForeignKeyField("models.User", null=True, related_name=False)
    invoice = fields.ForeignKeyField("models.Invoice", null=True, related_name="emails")
    purpose = fields.CharField(max_length=32, default="invoice")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_emails"


class OutboxAttachment(Model):
    id = fields.IntField(primary_key=True)
    email = fields.ForeignKeyField("models.OutboxEmail", related_name="attachments")
    filename = fields.CharField(max_length=200)
    mimetype = fields.CharField(max_length=100)
    # Either literal bytes, or a document rendered by `mail.documents` at send time.
    content = fields.BinaryField(null=True)
    invoice = fields.ForeignKeyField("models.Invoice", null=True, related_name=False)
    purchase_order = fields.ForeignKeyField("models.PurchaseOrder", null=True, related_name=False)

    class Meta:
        table = "outbox_attachments"


class Alert(Model):
    """A message to one person (or the team chat), rendered in their language at delivery."""

    id = fields.IntField(primary_key=True)
    dedupe_key = fields.CharField(max_length=200, unique=True)
    user = fields.ForeignKeyField("models.User", null=True, related_name="alerts")
    chat_id = fields.BigIntField(null=True)
    kind = fields.CharField(max_length=48)
    params = fields.JSONField(default=dict)
    buttons = fields.JSONField(default=list)
    status = fields.CharEnumField(
        AlertStatus, max_length=10, default=AlertStatus.PENDING, db_index=True
    )
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "alerts"


class JobRun(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=48, unique=True)
    last_started_at = fields.DatetimeField(null=True)
    last_finished_at = fields.DatetimeField(null=True)
    last_success_at = fields.DatetimeField(null=True)
    duration_ms = fields.IntField(default=0)
    outcome = fields.CharField(max_length=16, default="never")
    detail = fields.TextField(default="")
    consecutive_failures = fields.IntField(default=0)

    class Meta:
        table = "job_runs"


class AppSetting(Model):
    key = fields.CharField(max_length=64, primary_key=True)
    value = fields.JSONField()

    class Meta:
        table = "app_settings"
