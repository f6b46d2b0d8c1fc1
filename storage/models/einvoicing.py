"""E-invoicing through the company's approved platform (PA, AFNOR XP Z12-013).

- `PaSubmission`: the durable queue of flows to send (our invoices, our CDAR statuses),
  written in the transaction of their cause; its `tracking_id` is the dedupe key sent as
  the flow's `trackingId`.
- `PaInvoice`: one of our invoices at the PA: its current life-cycle status and date.
- `PaStatusEvent`: every status received or sent, with its date (the card's history).
- `PaAddressing`: a client's directory entry (cached) and whether they also want email.
- `PaInboundFlow`: flows announced by the PA (webhook or polling), processed by a job.
- `SupplierInvoice`: an incoming supplier invoice, its three-way match and its decision.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from storage.models.billing import Invoice
    from storage.models.core import Contact, User
    from storage.models.ops import PurchaseOrder


class PaQueueState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"


class PaSubmissionKind(StrEnum):
    INVOICE = "invoice"  # an invoice or credit note (Factur-X)
    STATUS = "status"  # a CDAR life-cycle status we emit


class SupplierInvoiceStatus(StrEnum):
    RECEIVED = "received"
    APPROVED = "approved"
    DISPUTED = "disputed"
    REFUSED = "refused"


class PaSubmission(Model):
    id = fields.IntField(primary_key=True)
    tracking_id = fields.CharField(max_length=36, unique=True)
    kind = fields.CharEnumField(PaSubmissionKind, max_length=8)
    invoice: fields.ForeignKeyNullableRelation[Invoice] = fields.ForeignKeyField(
        "models.Invoice", null=True, related_name="pa_submissions"
    )
    supplier_invoice: fields.ForeignKeyNullableRelation[SupplierInvoice] = fields.ForeignKeyField(
        "models.SupplierInvoice", null=True, related_name="pa_submissions"
    )
    status_code = fields.IntField(null=True)
    params: Any = fields.JSONField(default=dict)
    state = fields.CharEnumField(PaQueueState, max_length=8, default=PaQueueState.PENDING, db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True, db_index=True)
    claimed_at = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=32, null=True, db_index=True)
    last_error = fields.TextField(null=True)
    flow_id = fields.CharField(max_length=36, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    done_at = fields.DatetimeField(null=True)

    invoice_id: int | None
    supplier_invoice_id: int | None

    class Meta:
        table = "pa_submissions"


class PaInvoice(Model):
    id = fields.IntField(primary_key=True)
    invoice: fields.OneToOneRelation[Invoice] = fields.OneToOneField("models.Invoice", related_name="pa")
    tracking_id = fields.CharField(max_length=36, unique=True)
    attempt = fields.IntField(default=1)
    flow_id = fields.CharField(max_length=36, null=True, db_index=True)
    # The current CDAR status code (None: queued, not yet deposited) and its date.
    status_code = fields.IntField(null=True)
    status_at = fields.DatetimeField(null=True)
    reason = fields.TextField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    invoice_id: int

    class Meta:
        table = "pa_invoices"


class PaStatusEvent(Model):
    id = fields.IntField(primary_key=True)
    dedupe_key = fields.CharField(max_length=200, unique=True)
    invoice: fields.ForeignKeyNullableRelation[Invoice] = fields.ForeignKeyField(
        "models.Invoice", null=True, related_name="pa_events"
    )
    supplier_invoice: fields.ForeignKeyNullableRelation[SupplierInvoice] = fields.ForeignKeyField(
        "models.SupplierInvoice", null=True, related_name="pa_events"
    )
    code = fields.IntField()
    at = fields.DatetimeField()
    # Of which submission of the invoice (a rejected invoice is fixed and submitted again).
    attempt = fields.IntField(default=1)
    outgoing = fields.BooleanField(default=False)
    reason_code = fields.CharField(max_length=64, null=True)
    reason = fields.TextField(null=True)
    amount_cents = fields.BigIntField(null=True)
    recorded_at = fields.DatetimeField(auto_now_add=True)

    invoice_id: int | None
    supplier_invoice_id: int | None

    class Meta:
        table = "pa_status_events"
        indexes = [("invoice_id", "at")]


class PaAddressing(Model):
    """A client's e-invoicing address from the PA's directory (cached), and their wishes."""

    id = fields.IntField(primary_key=True)
    contact: fields.OneToOneRelation[Contact] = fields.OneToOneField(
        "models.Contact", related_name="pa_addressing"
    )
    siren = fields.CharField(max_length=9, default="")
    siret = fields.CharField(max_length=14, default="")
    found = fields.BooleanField(default=False)
    address_id = fields.CharField(max_length=128, default="")  # the directory line's identifier
    platform = fields.CharField(max_length=200, default="")
    # The client also wants the PDF by email, besides the platform.
    also_email = fields.BooleanField(default=False)
    looked_up_at = fields.DatetimeField(null=True)

    contact_id: int

    class Meta:
        table = "pa_addressing"


class PaInboundFlow(Model):
    id = fields.IntField(primary_key=True)
    flow_id = fields.CharField(max_length=36, unique=True)
    flow_type = fields.CharField(max_length=48)
    direction = fields.CharField(max_length=3)
    ack_status = fields.CharField(max_length=8, default="")
    tracking_id = fields.CharField(max_length=36, null=True)
    updated_at_pa = fields.CharField(max_length=40, default="")
    meta: Any = fields.JSONField(default=dict)
    state = fields.CharEnumField(PaQueueState, max_length=8, default=PaQueueState.PENDING, db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    claimed_at = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=32, null=True, db_index=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "pa_inbound_flows"


class SupplierInvoice(Model):
    id = fields.IntField(primary_key=True)
    flow_id = fields.CharField(max_length=36, unique=True)
    syntax = fields.CharField(max_length=12)
    supplier: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", null=True, related_name="supplier_invoices"
    )
    seller_name = fields.CharField(max_length=200, default="")
    seller_siren = fields.CharField(max_length=14, default="")
    seller_vat = fields.CharField(max_length=20, default="")
    number = fields.CharField(max_length=64)
    type_code = fields.CharField(max_length=3, default="380")
    issue_date = fields.DateField()
    due_date = fields.DateField(null=True, db_index=True)
    currency = fields.CharField(max_length=3, default="EUR")
    total_net_cents = fields.BigIntField(default=0)
    total_vat_cents = fields.BigIntField(default=0)
    total_gross_cents = fields.BigIntField(default=0)
    po_number = fields.CharField(max_length=64, default="")
    purchase_order: fields.ForeignKeyNullableRelation[PurchaseOrder] = fields.ForeignKeyField(
        "models.PurchaseOrder", null=True, related_name="supplier_invoices"
    )
    lines: Any = fields.JSONField(default=list)
    match: Any = fields.JSONField(default=dict)
    fully_matched = fields.BooleanField(default=False)
    status = fields.CharEnumField(
        SupplierInvoiceStatus, max_length=10, default=SupplierInvoiceStatus.RECEIVED, db_index=True
    )
    reason_code = fields.CharField(max_length=64, null=True)
    reason = fields.TextField(null=True)
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name=False
    )
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    supplier_id: int | None
    purchase_order_id: int | None
    decided_by_id: int | None

    class Meta:
        table = "supplier_invoices"
