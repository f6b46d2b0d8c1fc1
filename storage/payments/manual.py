"""What people do with payments: list them, look at one, and tie it to an invoice (/match).

Admins, managers and collections see and match payments. A person settles an unmatched
credit against an open invoice, or ties an unmatched return to the paid invoice it takes
money back from; the payment row and the invoice row are locked, payment first, so two
people (or a bank statement) touching the same ones wait for each other's commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tortoise.transactions import in_transaction

from storage.einvoicing.lifecycle import queue_cashed
from storage.errors import Conflict, Forbidden, NotFound
from storage.models import (
    InboxMessage,
    InboxStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentDirection,
    PaymentStatus,
    Role,
    User,
)
from storage.payments.accounts import clean_iban
from storage.payments.alerts import alert_returns
from storage.payments.batch import Batch
from storage.payments.invoices import OPEN_STATUSES, payer_contacts, payer_invoices
from storage.payments.matching import is_open, open_cents
from storage.payments.references import invoice_numbers_in
from storage.payments.settling import reopen, settle, was_sent
from storage.payments.writes import close_collections, remember_ibans, reopen_collections, write_effects

__all__ = [
    "PAYMENT_ROLES",
    "can_see_payments",
    "get_payment",
    "likely_invoices",
    "list_payments",
    "list_quarantine",
    "match_payment",
]

PAYMENT_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.COLLECTIONS})
_PAID = (InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID)


def can_see_payments(user: User) -> bool:
    """Admins, managers and collections see and match payments."""
    return user.role in PAYMENT_ROLES


def _check(user: User) -> None:
    if not can_see_payments(user):
        raise Forbidden("payments_forbidden")


async def _invoice_by_reference(ref: int | str, *, lock: bool = False) -> Invoice | None:
    """An invoice by id, or by its number typed loosely (`f2026 42`, `F2026-00042`);
    `lock`: its row locked for the rest of the transaction (PostgreSQL)."""
    if isinstance(ref, int):
        query = Invoice.filter(id=ref, kind=InvoiceKind.INVOICE, number__isnull=False)
    else:
        numbers = invoice_numbers_in(ref)
        if len(numbers) != 1:
            return None
        query = Invoice.filter(number=numbers[0], kind=InvoiceKind.INVOICE)
    return await (query.select_for_update() if lock else query).first()


async def match_payment(
    actor: User, payment_id: int, invoice_ref: int | str, *, now: datetime
) -> tuple[Payment, Invoice]:
    """A person settles an unmatched credit against an open invoice, or ties an unmatched
    return to the paid invoice it takes money back from (reopening it)."""
    _check(actor)
    async with in_transaction():
        # Locked, payment first then invoice: two people matching the same payment, or a
        # bank entry settling the same invoice meanwhile, wait for each other's commit.
        payment = await Payment.filter(id=payment_id).select_for_update().first()
        if payment is None:
            raise NotFound("payment", id=payment_id)
        invoice = await _invoice_by_reference(invoice_ref, lock=True)
        if invoice is None or invoice.number is None:
            raise NotFound("payment_invoice", ref=str(invoice_ref))
        if payment.status != PaymentStatus.UNMATCHED or payment.direction not in (
            PaymentDirection.CREDIT,
            PaymentDirection.REVERSAL,
        ):
            raise Conflict("payment_not_unmatched", id=payment_id)
        if payment.direction == PaymentDirection.REVERSAL:
            await _match_return(actor, payment, invoice, now)
        else:
            await _match_credit(actor, payment, invoice, now)
    return payment, invoice


async def _match_credit(actor: User, payment: Payment, invoice: Invoice, now: datetime) -> None:
    """A person's choice for a credit: the invoice must be open, in the payment's currency."""
    if not is_open(invoice):
        raise Conflict("invoice_not_open", number=invoice.number)
    if invoice.currency != payment.currency:
        raise Conflict("payment_currency", currency=payment.currency, number=invoice.number)
    batch = Batch(now=now)
    settle(batch, payment, invoice, "manual")
    batch.audits[-1]["user_id"] = actor.id
    await payment.save(update_fields=["invoice_id", "status", "matched_by", "surplus_cents"])
    await invoice.save(update_fields=["paid_cents", "status", "updated_at"])
    if batch.ibans:
        await remember_ibans(batch.ibans)
    if batch.paid_now:
        await close_collections(batch)
    await queue_cashed(batch.cashed)
    await write_effects(batch)


async def _match_return(actor: User, payment: Payment, invoice: Invoice, now: datetime) -> None:
    """A person's choice for a return: the invoice must have been paid (in its currency)."""
    if invoice.paid_cents <= 0 or invoice.status not in _PAID:
        raise Conflict("invoice_not_paid", number=invoice.number)
    if invoice.currency != payment.currency:
        raise Conflict("payment_currency", currency=payment.currency, number=invoice.number)
    batch = Batch(now=now)
    reopen(batch, payment, invoice, await was_sent(invoice.id))
    batch.audits[-1]["user_id"] = actor.id
    await payment.save(update_fields=["invoice_id", "status", "matched_by"])
    await invoice.save(update_fields=["paid_cents", "status", "updated_at"])
    await reopen_collections(batch)
    await alert_returns(batch)
    await write_effects(batch)


async def list_payments(actor: User, which: str = "recent", limit: int = 20) -> list[Payment]:
    """Recent payments, or the unmatched credits and returns waiting for a person."""
    _check(actor)
    query = Payment.all()
    if which == "unmatched":
        query = query.filter(
            status=PaymentStatus.UNMATCHED, direction__in=[PaymentDirection.CREDIT, PaymentDirection.REVERSAL]
        )
    return list(await query.order_by("-id").limit(limit).prefetch_related("invoice"))


async def list_quarantine(actor: User, limit: int = 20) -> list[InboxMessage]:
    """Quarantined and unrecognised messages, newest first."""
    _check(actor)
    return list(
        await InboxMessage.filter(status__in=[InboxStatus.QUARANTINED, InboxStatus.UNRECOGNISED])
        .order_by("-id")
        .limit(limit)
    )


async def get_payment(actor: User, payment_id: int) -> Payment:
    """One payment with its invoice, for a person allowed to see payments."""
    _check(actor)
    payment = await Payment.get_or_none(id=payment_id).prefetch_related("invoice")
    if payment is None:
        raise NotFound("payment", id=payment_id)
    return payment


async def likely_invoices(actor: User, payment_id: int, limit: int = 5) -> list[Invoice]:
    """Open invoices an unmatched payment probably settles: the payer's first, then same
    amount. For a return: the paid invoices it may take money back from."""
    payment = await get_payment(actor, payment_id)
    if payment.direction == PaymentDirection.REVERSAL:
        return await _returnable_invoices(payment, limit)
    mine = await payer_invoices(clean_iban(payment.payer_iban), payment.payer_name, payment.currency)
    same = (
        await Invoice.filter(
            status__in=list(OPEN_STATUSES), kind=InvoiceKind.INVOICE, currency=payment.currency
        )
        .filter(total_gross_cents=payment.amount_cents, paid_cents=0)
        .order_by("due_date", "id")
        .limit(limit)
    )
    exact = [i for i in mine if open_cents(i) == payment.amount_cents]
    return _unique([*exact, *same, *mine])[:limit]


async def _returnable_invoices(payment: Payment, limit: int) -> list[Invoice]:
    """Invoices settled by a credit from the same account for the same amount first, then
    the payer's paid invoices (newest first)."""
    mirrored: list[Invoice] = []
    if payment.payer_iban:
        ids = await Payment.filter(
            direction=PaymentDirection.CREDIT,
            status=PaymentStatus.MATCHED,
            payer_iban=payment.payer_iban,
            amount_cents=payment.amount_cents,
            invoice_id__not_isnull=True,
        ).values_list("invoice_id", flat=True)
        mirrored = list(await Invoice.filter(id__in=[int(str(i)) for i in ids]))
    contacts = await payer_contacts(clean_iban(payment.payer_iban), payment.payer_name)
    paid = (
        list(
            await Invoice.filter(
                contact_id__in=contacts,
                kind=InvoiceKind.INVOICE,
                currency=payment.currency,
                status__in=list(_PAID),
            )
            .order_by("-due_date", "-id")
            .limit(limit)
        )
        if contacts
        else []
    )
    usable = [i for i in [*mirrored, *paid] if i.paid_cents > 0 and i.status in _PAID]
    return _unique(usable)[:limit]


def _unique(invoices: Iterable[Invoice]) -> list[Invoice]:
    seen: set[int] = set()
    out = []
    for inv in invoices:
        if inv.id not in seen:
            seen.add(inv.id)
            out.append(inv)
    return out
