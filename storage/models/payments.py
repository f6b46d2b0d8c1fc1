"""Payments read from the bank's mail, the inbox messages they came from, mailbox state."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from storage.models.billing import Invoice
    from storage.models.core import Contact


class PaymentDirection(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"
    REVERSAL = "reversal"


class PaymentStatus(StrEnum):
    MATCHED = "matched"
    UNMATCHED = "unmatched"
    IGNORED = "ignored"


class InboxStatus(StrEnum):
    PROCESSED = "processed"
    QUARANTINED = "quarantined"
    UNRECOGNISED = "unrecognised"


class Payment(Model):
    """One bank entry, recorded once: `entry_ref` is its identity (`storage.payments.entry_key`:
    the bank's id with the account, else a fingerprint of the entry), unique in the database."""

    id = fields.IntField(primary_key=True)
    entry_ref = fields.CharField(max_length=200, unique=True)
    direction = fields.CharEnumField(PaymentDirection, max_length=8)
    status = fields.CharEnumField(PaymentStatus, max_length=10, db_index=True)
    amount_cents = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    booking_date = fields.DateField(null=True)
    payer_name = fields.CharField(max_length=200, null=True)
    payer_iban = fields.CharField(max_length=34, null=True)
    reference = fields.CharField(max_length=140, null=True)
    remittance = fields.TextField(null=True)
    invoice: fields.ForeignKeyNullableRelation[Invoice] = fields.ForeignKeyField(
        "models.Invoice", null=True, related_name="payments"
    )
    invoice_id: int | None
    surplus_cents = fields.BigIntField(default=0)
    matched_by = fields.CharField(max_length=16, null=True)
    inbox_message: fields.ForeignKeyNullableRelation[InboxMessage] = fields.ForeignKeyField(
        "models.InboxMessage", null=True, related_name="payments"
    )
    inbox_message_id: int | None
    # The account the bank booked it on, the return reason (AC04...) of a return, and what
    # the person who matches should know (parser warnings, batch candidates): `notes` as
    # catalogue messages with raw parameters, said in each reader's language
    # (`storage.payments.notes`); `note` the same in English (logs, exports), or the only
    # text of a payment recorded before migration 0012.
    account = fields.CharField(max_length=50, null=True)
    return_code = fields.CharField(max_length=8, null=True)
    note = fields.TextField(null=True)
    notes: Any = fields.JSONField(default=list, db_default="[]")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payments"


class PayerAccount(Model):
    """An IBAN seen paying a client's invoice: later payments from it point at that client."""

    id = fields.IntField(primary_key=True)
    iban = fields.CharField(max_length=34, unique=True)
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="payer_accounts"
    )
    contact_id: int

    class Meta:
        table = "payer_accounts"


class InboxMessage(Model):
    id = fields.IntField(primary_key=True)
    message_id = fields.CharField(max_length=300, db_index=True)
    folder = fields.CharField(max_length=200)
    uid = fields.BigIntField(null=True)
    status = fields.CharEnumField(InboxStatus, max_length=12, db_index=True)
    reason = fields.TextField(default="")
    # The same reasons as codes, said in each reader's language: [[key, {params}], ...]
    reasons: Any = fields.JSONField(default=list, db_default="[]")  # rows from before 0003
    sender = fields.CharField(max_length=254, default="")
    subject = fields.CharField(max_length=300, default="")
    raw_message = fields.BinaryField(null=True)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "inbox_messages"


class MailboxState(Model):
    id = fields.IntField(primary_key=True)
    folder = fields.CharField(max_length=200, unique=True)
    uidvalidity = fields.BigIntField(null=True)
    last_uid = fields.BigIntField(default=0)
    last_ok_at = fields.DatetimeField(null=True)
    down_since = fields.DatetimeField(null=True)
    down_alerted = fields.BooleanField(default=False)

    class Meta:
        table = "mailbox_states"
