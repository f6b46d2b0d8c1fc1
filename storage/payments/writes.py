"""A batch's rows, written in bulk in the transaction that records its payments.

Payments, invoice balances and statuses, the payers' IBANs, collection tasks closed or
reopened, the PA's "cashed" statuses, audit rows and alerts: a few statements per kind,
never one per entry. The statement-sized ones (payments, invoices, audit rows, alerts) go
through `storage.orm.insert_rows` / `update_rows`, prepared statements over plain rows:
Tortoise's `bulk_create` needs a model instance per row and `bulk_update` a CASE term per
row and field: with them `bench/payments.py` fell from ~4,500 to 1,600-2,000 MT940
entries/s, below its 2,000/s target (December 2026). The small writes use the ORM.
"""

from __future__ import annotations

from datetime import datetime

from storage import orm
from storage.collections import close_for_invoice
from storage.einvoicing.lifecycle import queue_cashed
from storage.models import (
    Alert,
    AuditLog,
    CollectionEvent,
    CollectionStatus,
    CollectionTask,
    Invoice,
    PayerAccount,
    Payment,
    PaymentDirection,
    PaymentStatus,
)
from storage.payments.alerts import alert_returns, alert_unmatched
from storage.payments.batch import Batch, PaymentRow
from storage.payments.invoices import InvoiceLike
from storage.refunds import match_refund_debits

__all__ = [
    "close_collections",
    "remember_ibans",
    "reopen_collections",
    "update_invoices",
    "write",
    "write_effects",
]

CHUNK = 500


async def write(batch: Batch, payments: list[PaymentRow]) -> None:
    """Write the batch's rows: payments, invoices, payer IBANs, collection tasks, alerts."""
    if payments:
        await orm.insert_rows(Payment, [p.row(batch.now) for p in payments])
        await match_refund_debits(
            [p.entry_ref for p in payments if p.direction == PaymentDirection.DEBIT], batch.now
        )
    if batch.invoices:
        await update_invoices(list(batch.invoices.values()), batch.now)
    if batch.ibans:
        await remember_ibans(batch.ibans)
    if batch.paid_now:
        await close_collections(batch)
    if batch.returns:
        await reopen_collections(batch)
        await alert_returns(batch)
    await queue_cashed(batch.cashed)
    if batch.outcome.unmatched:
        await alert_unmatched(batch, [p.entry_ref for p in payments if p.status == PaymentStatus.UNMATCHED])
    await write_effects(batch)


async def write_effects(batch: Batch) -> None:
    """The batch's audit rows, and its alerts (one per dedupe key: a repeat is skipped)."""
    await orm.insert_rows(AuditLog, batch.audits)
    await orm.insert_rows(Alert, batch.alerts, ignore_conflicts=True)


async def update_invoices(invoices: list[InvoiceLike], now: datetime) -> None:
    """Write the new balances and statuses of the invoices a batch touched (one prepared
    UPDATE through the adapter: `bulk_update` builds a CASE term per row and field)."""
    rows = [{"id": i.id, "paid_cents": i.paid_cents, "status": i.status, "updated_at": now} for i in invoices]
    await orm.update_rows(Invoice, ["paid_cents", "status", "updated_at"], rows)


async def remember_ibans(ibans: dict[str, int]) -> None:
    """Remember which client each new payer IBAN paid for (the first client wins)."""
    keys = list(ibans)
    known: set[str] = set()
    for i in range(0, len(keys), CHUNK):
        rows = await PayerAccount.filter(iban__in=keys[i : i + CHUNK]).values_list("iban", flat=True)
        known.update(str(r) for r in rows)
    new = [PayerAccount(iban=k, contact_id=v) for k, v in ibans.items() if k not in known]
    if new:
        await PayerAccount.bulk_create(new, batch_size=CHUNK, ignore_conflicts=True)


async def close_collections(batch: Batch) -> None:
    """Close the open collection task of every invoice paid now (the collections rule)."""
    ids = sorted(batch.paid_now)
    with_task: list[int] = []
    for i in range(0, len(ids), CHUNK):
        rows = await CollectionTask.filter(
            invoice_id__in=ids[i : i + CHUNK], status=CollectionStatus.OPEN
        ).values_list("invoice_id", flat=True)
        with_task += [int(str(r)) for r in rows]
    for invoice_id in with_task:
        await close_for_invoice(invoice_id, batch.now, "paid")


async def reopen_collections(batch: Batch) -> None:
    """A returned payment reopens the closed collection task of its invoice (one task per
    invoice: the same task, with a `reopened` event)."""
    ids = sorted(batch.reopened)
    for i in range(0, len(ids), CHUNK):
        for task in await CollectionTask.filter(
            invoice_id__in=ids[i : i + CHUNK], status=CollectionStatus.CLOSED
        ):
            task.status, task.closed_at = CollectionStatus.OPEN, None
            await task.save(update_fields=["status", "closed_at"])
            await CollectionEvent.create(task=task, kind="reopened", note="payment returned", at=batch.now)
