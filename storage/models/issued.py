"""What an issued document leaves behind: its frozen bytes, and the refund a credit note owes.

`InvoiceDocument` holds the PDF (with its embedded Factur-X XML) exactly as it was issued,
in its own table so that reading invoices never drags the bytes along. `Refund` is the
money a credit note gives back to a client who had already paid the credited invoice.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from storage.models.billing import Invoice
    from storage.models.core import Contact, User
    from storage.models.payments import Payment


class RefundStatus(StrEnum):
    OWED = "owed"
    DONE = "done"


class InvoiceDocument(Model):
    """The issued PDF of an invoice or credit note, frozen: every later send delivers it."""

    id = fields.IntField(primary_key=True)
    invoice: fields.OneToOneRelation[Invoice] = fields.OneToOneField(
        "models.Invoice", related_name="document"
    )
    sha256 = fields.CharField(max_length=64)
    size = fields.IntField()
    pdf = fields.BinaryField()
    frozen_at = fields.DatetimeField()

    if TYPE_CHECKING:
        invoice_id: int

    class Meta:
        table = "invoice_documents"


class Refund(Model):
    """Money owed back to a client by a credit note on an invoice already (partly) paid."""

    id = fields.IntField(primary_key=True)
    credit_note: fields.OneToOneRelation[Invoice] = fields.OneToOneField(
        "models.Invoice", related_name="refund"
    )
    invoice: fields.ForeignKeyRelation[Invoice] = fields.ForeignKeyField(
        "models.Invoice", related_name="refunds"
    )
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="refunds"
    )
    amount_cents = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    status = fields.CharEnumField(RefundStatus, max_length=8, default=RefundStatus.OWED, db_index=True)
    created_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    closed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name=False
    )
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", null=True, related_name=False
    )

    if TYPE_CHECKING:
        credit_note_id: int
        invoice_id: int
        contact_id: int
        closed_by_id: int | None
        payment_id: int | None

    class Meta:
        table = "refunds"
