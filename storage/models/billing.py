"""Billing tables: products, deal lines, invoices (and credit notes), numbering counters.

Money is integer minor units (cents); VAT rates are basis points (20 % = 2000);
quantities are exact decimals with three places.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from storage.models.core import Contact, Deal, User


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    SENT = "sent"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CANCELLED = "cancelled"


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class SupplyNature(StrEnum):
    """What a line supplies: the VAT rules differ for goods and for services."""

    GOODS = "goods"
    SERVICES = "services"


class VatCategory(StrEnum):
    """EN 16931 VAT category codes (UNTDID 5305) an invoice line may carry."""

    STANDARD = "S"
    INTRA_COMMUNITY = "K"
    REVERSE_CHARGE = "AE"
    EXPORT = "G"
    EXEMPT = "E"
    OUTSIDE_SCOPE = "O"


class Product(Model):
    id = fields.IntField(primary_key=True)
    sku = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    unit = fields.CharField(max_length=16, default="unit")
    unit_price_cents = fields.BigIntField()
    currency = fields.CharField(max_length=3, default="EUR")
    vat_rate_bp = fields.IntField(default=2000)
    nature = fields.CharEnumField(
        SupplyNature, max_length=8, default=SupplyNature.GOODS, db_default=SupplyNature.GOODS
    )
    # A VATEX code when the product is exempt (E) or outside the scope of VAT (VATEX-EU-O).
    vat_exemption = fields.CharField(max_length=32, null=True)
    supplier: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", null=True, related_name="supplied_products", on_delete=fields.SET_NULL
    )
    reorder_point = fields.DecimalField(max_digits=14, decimal_places=3, default=0)
    lead_time_days = fields.IntField(default=7)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    supplier_id: int | None

    class Meta:
        table = "products"


class DealLine(Model):
    id = fields.IntField(primary_key=True)
    deal: fields.ForeignKeyRelation[Deal] = fields.ForeignKeyField("models.Deal", related_name="lines")
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField("models.Product", related_name=False)
    quantity = fields.DecimalField(max_digits=14, decimal_places=3)
    unit_price_cents = fields.BigIntField()
    vat_rate_bp = fields.IntField()
    nature = fields.CharEnumField(
        SupplyNature, max_length=8, default=SupplyNature.GOODS, db_default=SupplyNature.GOODS
    )

    deal_id: int
    product_id: int

    class Meta:
        table = "deal_lines"


class NumberCounter(Model):
    """Serialised per-series, per-year counter behind gapless numbering."""

    id = fields.IntField(primary_key=True)
    series = fields.CharField(max_length=8)
    year = fields.IntField()
    last_value = fields.IntField(default=0)

    class Meta:
        table = "number_counters"
        unique_together = (("series", "year"),)


class Invoice(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(InvoiceKind, max_length=16, default=InvoiceKind.INVOICE)
    series = fields.CharField(max_length=8, default="F")
    year = fields.IntField(null=True)
    seq = fields.IntField(null=True)
    number = fields.CharField(max_length=32, unique=True, null=True)
    status = fields.CharEnumField(InvoiceStatus, max_length=16, default=InvoiceStatus.DRAFT, db_index=True)
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="invoices"
    )
    deal: fields.ForeignKeyNullableRelation[Deal] = fields.ForeignKeyField(
        "models.Deal", null=True, related_name="invoices"
    )
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name="invoices")
    credit_of: fields.ForeignKeyNullableRelation[Invoice] = fields.ForeignKeyField(
        "models.Invoice", null=True, related_name="credit_notes"
    )
    currency = fields.CharField(max_length=3, default="EUR")
    language = fields.CharField(max_length=2, default="fr")
    issue_date = fields.DateField(null=True)
    sale_date = fields.DateField(null=True)
    due_date = fields.DateField(null=True, db_index=True)
    payment_terms_days = fields.IntField(default=30)
    total_net_cents = fields.BigIntField(default=0)
    total_vat_cents = fields.BigIntField(default=0)
    total_gross_cents = fields.BigIntField(default=0)
    paid_cents = fields.BigIntField(default=0)
    rf_reference = fields.CharField(max_length=25, null=True, db_index=True)
    reason = fields.TextField(null=True)
    # References the buyer asks for (BT-10, BT-13) and the invoicing period (BG-14).
    buyer_reference = fields.CharField(max_length=100, null=True)
    purchase_order = fields.CharField(max_length=100, null=True)
    period_start = fields.DateField(null=True)
    period_end = fields.DateField(null=True)
    # Document-level discount (BG-20): a percentage (bp) or an amount, with its reason.
    discount_bp = fields.IntField(default=0, db_default=0)
    discount_cents = fields.BigIntField(default=0, db_default=0)
    discount_reason = fields.CharField(max_length=100, null=True)
    total_allowance_cents = fields.BigIntField(default=0, db_default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    contact_id: int
    deal_id: int | None
    owner_id: int
    credit_of_id: int | None

    class Meta:
        table = "invoices"
        unique_together = (("series", "year", "seq"),)
        indexes = [("status", "due_date")]


class InvoiceLine(Model):
    id = fields.IntField(primary_key=True)
    invoice: fields.ForeignKeyRelation[Invoice] = fields.ForeignKeyField(
        "models.Invoice", related_name="lines"
    )
    position = fields.IntField()
    product: fields.ForeignKeyNullableRelation[Product] = fields.ForeignKeyField(
        "models.Product", null=True, related_name=False
    )
    description = fields.CharField(max_length=300)
    quantity = fields.DecimalField(max_digits=14, decimal_places=3)
    unit = fields.CharField(max_length=16, default="unit")
    unit_price_cents = fields.BigIntField()
    vat_rate_bp = fields.IntField()
    net_cents = fields.BigIntField()
    nature = fields.CharEnumField(
        SupplyNature, max_length=8, default=SupplyNature.GOODS, db_default=SupplyNature.GOODS
    )
    vat_exemption = fields.CharField(max_length=32, null=True)
    # Fixed at issue from the buyer and the nature (drafts follow the live billing data).
    vat_category = fields.CharEnumField(VatCategory, max_length=2, null=True)
    # Line discount (BG-27): a percentage (bp) or an amount; net = qty × price − discount.
    discount_bp = fields.IntField(default=0, db_default=0)
    discount_cents = fields.BigIntField(default=0, db_default=0)
    discount_reason = fields.CharField(max_length=100, null=True)

    invoice_id: int
    product_id: int | None

    class Meta:
        table = "invoice_lines"
