"""Operations tables: collection tasks and their log, stock, reservations, purchase orders."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from storage.models.billing import Invoice, Product
    from storage.models.core import Contact, Deal, User


class CollectionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class POStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PARTIAL = "partial"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class CollectionTask(Model):
    id = fields.IntField(primary_key=True)
    invoice: fields.OneToOneRelation[Invoice] = fields.OneToOneField(
        "models.Invoice", related_name="collection"
    )
    assignee: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="collection_tasks"
    )
    status = fields.CharEnumField(
        CollectionStatus, max_length=8, default=CollectionStatus.OPEN, db_index=True
    )
    level = fields.IntField(default=0)
    promised_date = fields.DateField(null=True)
    disputed = fields.BooleanField(default=False)
    opened_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)

    if TYPE_CHECKING:
        invoice_id: int
        assignee_id: int

    events: fields.ReverseRelation[CollectionEvent]

    class Meta:
        table = "collection_tasks"


class CollectionEvent(Model):
    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyRelation[CollectionTask] = fields.ForeignKeyField(
        "models.CollectionTask", related_name="events"
    )
    kind = fields.CharField(max_length=24)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name=False
    )
    note = fields.TextField(default="")
    at = fields.DatetimeField()

    if TYPE_CHECKING:
        task_id: int

    class Meta:
        table = "collection_events"


class Warehouse(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "warehouses"


class StockLevel(Model):
    id = fields.IntField(primary_key=True)
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="stock_levels"
    )
    warehouse: fields.ForeignKeyRelation[Warehouse] = fields.ForeignKeyField(
        "models.Warehouse", related_name="stock_levels"
    )
    on_hand = fields.DecimalField(max_digits=14, decimal_places=3, default=0)

    if TYPE_CHECKING:
        product_id: int
        warehouse_id: int

    class Meta:
        table = "stock_levels"
        unique_together = (("product", "warehouse"),)


class StockMove(Model):
    id = fields.IntField(primary_key=True)
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField("models.Product", related_name=False)
    warehouse: fields.ForeignKeyRelation[Warehouse] = fields.ForeignKeyField(
        "models.Warehouse", related_name=False
    )
    quantity = fields.DecimalField(max_digits=14, decimal_places=3)
    reason = fields.CharField(max_length=200)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name=False
    )
    purchase_order: fields.ForeignKeyNullableRelation[PurchaseOrder] = fields.ForeignKeyField(
        "models.PurchaseOrder", null=True, related_name=False
    )
    at = fields.DatetimeField()

    class Meta:
        table = "stock_moves"


class Reservation(Model):
    id = fields.IntField(primary_key=True)
    deal: fields.ForeignKeyRelation[Deal] = fields.ForeignKeyField("models.Deal", related_name="reservations")
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="reservations"
    )
    warehouse: fields.ForeignKeyRelation[Warehouse] = fields.ForeignKeyField(
        "models.Warehouse", related_name=False
    )
    quantity = fields.DecimalField(max_digits=14, decimal_places=3)
    released = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    if TYPE_CHECKING:
        deal_id: int
        product_id: int

    class Meta:
        table = "reservations"


class PurchaseOrder(Model):
    id = fields.IntField(primary_key=True)
    supplier: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="purchase_orders"
    )
    status = fields.CharEnumField(POStatus, max_length=10, default=POStatus.DRAFT, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    expected_date = fields.DateField(null=True)

    if TYPE_CHECKING:
        supplier_id: int
        lines: fields.ReverseRelation[PurchaseOrderLine]

    class Meta:
        table = "purchase_orders"


class PurchaseOrderLine(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[PurchaseOrder] = fields.ForeignKeyField(
        "models.PurchaseOrder", related_name="lines"
    )
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField("models.Product", related_name=False)
    quantity = fields.DecimalField(max_digits=14, decimal_places=3)
    received_quantity = fields.DecimalField(max_digits=14, decimal_places=3, default=0)
    unit_price_cents = fields.BigIntField(default=0)

    if TYPE_CHECKING:
        order_id: int
        product_id: int

    class Meta:
        table = "purchase_order_lines"
        unique_together = (("order", "product"),)
