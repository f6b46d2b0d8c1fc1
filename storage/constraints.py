"""Uniqueness the ORM's schema cannot express, enforced by the database itself.

Several instances may run on one PostgreSQL: an "only one of these" rule that races can
break is a constraint, not a check-then-insert. Those Tortoise models declare directly
(unique fields, one-to-one) need nothing here; partial unique indexes are created by the
migrations and, for schemas generated from the models (tests), by `ensure_constraints`.

- one draft purchase order per supplier (`uniq_purchase_orders_draft_supplier`)
- one collection task per invoice (`collection_tasks.invoice_id`, one-to-one)
- one dunning email per invoice and level (`outbox_emails.dedupe_key`, unique)
- one alert per cause and person (`alerts.dedupe_key`, unique)
"""

from __future__ import annotations

from tortoise import connections

__all__ = ["PARTIAL_UNIQUE_INDEXES", "ensure_constraints"]

PARTIAL_UNIQUE_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS uniq_purchase_orders_draft_supplier "
    "ON purchase_orders (supplier_id) WHERE status = 'draft'",
)


async def ensure_constraints() -> None:
    """Create the partial unique indexes when missing (idempotent)."""
    conn = connections.get("default")
    for sql in PARTIAL_UNIQUE_INDEXES:
        await conn.execute_script(sql)
