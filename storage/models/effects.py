"""Side effects as rows: outbox emails, alerts; plus job runs and app settings."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from storage.models.billing import Invoice
    from storage.models.core import User


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class AlertStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    REROUTED = "rerouted"  # the recipient was unreachable: copies went to managers


class OutboxEmail(Model):
    id = fields.IntField(primary_key=True)
    dedupe_key = fields.CharField(max_length=200, unique=True)
    message_id = fields.CharField(max_length=200, unique=True)
    to_addrs: Any = fields.JSONField()
    reply_to = fields.CharField(max_length=254, null=True)
    subject = fields.CharField(max_length=300)
    body_text = fields.TextField()
    body_html = fields.TextField(null=True)
    status = fields.CharEnumField(OutboxStatus, max_length=8, default=OutboxStatus.PENDING, db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True, db_index=True)
    claimed_at = fields.DatetimeField(null=True)
    # Set with `claimed_at` by one atomic UPDATE: the sender then reads back what it won.
    claim_token = fields.CharField(max_length=32, null=True, db_index=True)
    last_error = fields.TextField(null=True)
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name=False
    )
    invoice: fields.ForeignKeyNullableRelation[Invoice] = fields.ForeignKeyField(
        "models.Invoice", null=True, related_name="emails"
    )
    purpose = fields.CharField(max_length=32, default="invoice")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    owner_id: int | None
    invoice_id: int | None
    attachments: fields.ReverseRelation[OutboxAttachment]

    class Meta:
        table = "outbox_emails"


class OutboxAttachment(Model):
    id = fields.IntField(primary_key=True)
    email: fields.ForeignKeyRelation[OutboxEmail] = fields.ForeignKeyField(
        "models.OutboxEmail", related_name="attachments"
    )
    filename = fields.CharField(max_length=200)
    mimetype = fields.CharField(max_length=100)
    # Either literal bytes, or a document rendered by `mail.documents` at send time.
    content = fields.BinaryField(null=True)
    invoice: Any = fields.ForeignKeyField("models.Invoice", null=True, related_name=False)
    purchase_order: Any = fields.ForeignKeyField("models.PurchaseOrder", null=True, related_name=False)

    email_id: int
    invoice_id: int | None
    purchase_order_id: int | None

    class Meta:
        table = "outbox_attachments"


class Alert(Model):
    """A message to one person (or the team chat), rendered in their language at delivery."""

    id = fields.IntField(primary_key=True)
    dedupe_key = fields.CharField(max_length=200, unique=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name="alerts"
    )
    chat_id = fields.BigIntField(null=True)
    kind = fields.CharField(max_length=48)
    params: Any = fields.JSONField(default=dict)
    # What the recipient can do from it: `storage.alerts.AlertAction` values as JSON
    # (`{"action": "open_purchase_order", "id": 7}`), read through `actions_of`; the bot
    # draws each as a button. The column kept its first name.
    buttons: Any = fields.JSONField(default=list)
    # Urgent alerts ignore quiet hours; the others wait until they end.
    urgent = fields.BooleanField(default=False)
    # Set on the copy a manager receives when the intended recipient was unreachable.
    rerouted_from: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name=False
    )
    status = fields.CharEnumField(AlertStatus, max_length=10, default=AlertStatus.PENDING, db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)
    # A deliverer's claim (one atomic UPDATE), so N instances never send the same alert.
    claim_token = fields.CharField(max_length=32, null=True, db_index=True)
    claimed_until = fields.DatetimeField(null=True)

    user_id: int | None
    rerouted_from_id: int | None

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
    # The detail as catalogue messages (`storage.i18n.Phrase.as_json`): /status says it in
    # the reader's language; None when the job gave plain text (an error, an older run).
    summary: Any = fields.JSONField(null=True)
    consecutive_failures = fields.IntField(default=0)
    # The runner holding this period's run (any instance): taken by one guarded UPDATE.
    claim_token = fields.CharField(max_length=32, null=True)
    lease_until = fields.DatetimeField(null=True)

    class Meta:
        table = "job_runs"


class AppSetting(Model):
    key = fields.CharField(max_length=64, primary_key=True)
    value: Any = fields.JSONField()

    class Meta:
        table = "app_settings"


class ChatState(Model):
    """python-telegram-bot's per-user / per-chat data and conversation states, as JSON, so a
    restart or another instance continues a half-filled form (see `bot.persistence`)."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=16)  # "user", "chat", "conv:<name>"
    key = fields.CharField(max_length=200)
    data: Any = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "chat_states"
        unique_together = (("kind", "key"),)
