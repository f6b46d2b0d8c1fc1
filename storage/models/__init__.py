"""Tables only. One module per area; rules live in the area modules of `storage/`.

Every model is re-exported here so callers write `from storage.models import Deal`.
"""

from __future__ import annotations

from storage.models.billing import (
    DealLine,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    NumberCounter,
    Product,
    SupplyNature,
    VatCategory,
)
from storage.models.core import (
    AuditLog,
    Contact,
    ContactKind,
    Deal,
    Invite,
    Note,
    Role,
    Stage,
    StageChange,
    Task,
    User,
)
from storage.models.effects import (
    Alert,
    AlertStatus,
    AppSetting,
    ChatState,
    JobRun,
    OutboxAttachment,
    OutboxEmail,
    OutboxStatus,
)
from storage.models.issued import InvoiceDocument, Refund, RefundStatus
from storage.models.ops import (
    CollectionEvent,
    CollectionStatus,
    CollectionTask,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    StockLevel,
    StockMove,
    Warehouse,
)
from storage.models.payments import (
    InboxMessage,
    InboxStatus,
    MailboxState,
    PayerAccount,
    Payment,
    PaymentDirection,
    PaymentStatus,
)

MODEL_MODULES = [
    "storage.models.core",
    "storage.models.billing",
    "storage.models.effects",
    "storage.models.payments",
    "storage.models.ops",
    "storage.models.issued",
]

__all__ = [
    "MODEL_MODULES",
    "Alert",
    "AlertStatus",
    "AppSetting",
    "AuditLog",
    "ChatState",
    "CollectionEvent",
    "CollectionStatus",
    "CollectionTask",
    "Contact",
    "ContactKind",
    "Deal",
    "DealLine",
    "InboxMessage",
    "InboxStatus",
    "Invite",
    "Invoice",
    "InvoiceDocument",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceStatus",
    "JobRun",
    "MailboxState",
    "Note",
    "NumberCounter",
    "OutboxAttachment",
    "OutboxEmail",
    "OutboxStatus",
    "POStatus",
    "PayerAccount",
    "Payment",
    "PaymentDirection",
    "PaymentStatus",
    "Product",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Refund",
    "RefundStatus",
    "Reservation",
    "Role",
    "Stage",
    "StageChange",
    "StockLevel",
    "StockMove",
    "SupplyNature",
    "Task",
    "User",
    "VatCategory",
    "Warehouse",
]
