"""Money landing on invoices, or going back: balances, statuses, refunds and returns.

Settling updates the invoice balance and status, remembers the payer's IBAN on the client,
alerts the invoice owner and, once paid, closes its collection task (the rows are written
by `storage.payments.writes`, in the transaction that records the payment).

A return or reversal of a credit (camt RvslInd / RRTN / AC04..., MT940 RC or /RTRN/) that
names a settled invoice, or that mirrors the credit which settled one, reopens the returned
amount: the invoice goes back to open or partially paid, its collection task reopens, and
the owner, collections and managers are told the reason in words. A return tied to no
invoice waits for a person. A payment that lands on an invoice cancelled by a credit note
is owed back: it is added to that credit note's refund (`credited`).
"""

from __future__ import annotations

from tortoise.expressions import F

from storage.einvoicing.lifecycle import CashedPayment
from storage.models import (
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    OutboxEmail,
    OutboxStatus,
    PaymentStatus,
    Refund,
    RefundStatus,
    User,
)
from storage.payments.batch import Batch, PaymentLike
from storage.payments.invoices import InvoiceLike, InvoiceView
from storage.payments.matching import returnable, returned_invoice
from storage.payments.notices import PaymentNotice
from storage.refunds import REFUND_ROLES

__all__ = [
    "credited",
    "reopen",
    "reopen_amounts",
    "settle",
    "settle_amounts",
    "settle_return",
    "was_sent",
]


def settle_amounts(gross_cents: int, paid_cents: int, amount_cents: int) -> tuple[int, int, int]:
    """(new paid cents, balance cents, surplus cents) after a payment; paid never exceeds gross."""
    remaining = max(gross_cents - paid_cents, 0)
    applied = min(amount_cents, remaining)
    surplus = amount_cents - applied
    new_paid = paid_cents + applied
    return new_paid, gross_cents - new_paid, surplus


def reopen_amounts(gross_cents: int, paid_cents: int, returned_cents: int) -> tuple[int, int, int]:
    """(new paid cents, balance cents, cents reopened) after a return; never below zero."""
    reopened = min(max(returned_cents, 0), paid_cents)
    new_paid = paid_cents - reopened
    return new_paid, gross_cents - new_paid, reopened


def _payer(batch: Batch, payment: PaymentLike, invoice: InvoiceLike) -> str:
    return payment.payer_name or batch.payer_names.get(invoice.contact_id, "")


def settle(
    batch: Batch, payment: PaymentLike, invoice: InvoiceLike, rule: str, allocated: int | None = None
) -> None:
    """Apply a payment (or the `allocated` part of a batch) to an invoice in memory."""
    before = {"paid_cents": invoice.paid_cents, "status": invoice.status.value}
    amount = payment.amount_cents if allocated is None else allocated
    new_paid, balance, surplus = settle_amounts(invoice.total_gross_cents, invoice.paid_cents, amount)
    invoice.paid_cents = new_paid
    if balance <= 0:
        invoice.status = InvoiceStatus.PAID
        batch.paid_now.add(invoice.id)
    elif new_paid > 0:
        invoice.status = InvoiceStatus.PARTIALLY_PAID
    batch.invoices[invoice.id] = invoice
    if payment.invoice_id is None or allocated is None:
        payment.invoice_id = invoice.id
    payment.status = PaymentStatus.MATCHED
    payment.matched_by = rule
    payment.surplus_cents = surplus
    booked = payment.booking_date or batch.now.date()
    batch.cashed.append(CashedPayment(invoice.id, payment.amount_cents - surplus, booked, payment.entry_ref))
    if payment.payer_iban:
        batch.ibans.setdefault(payment.payer_iban, invoice.contact_id)
    after = {"paid_cents": new_paid, "status": invoice.status.value, "payment": payment.entry_ref}
    batch.audit("invoice", invoice.id, "payment", before, after)
    params = {
        "number": invoice.number or f"#{invoice.id}",
        "payer": _payer(batch, payment, invoice),
        "amount_cents": amount,
        "balance_cents": balance,
        "currency": invoice.currency,
    }
    key = f"paid:{payment.entry_ref}" if allocated is None else f"paid:{payment.entry_ref}:{invoice.id}"
    batch.alert(invoice.owner_id, "payment_received", key, params)
    if surplus:
        surplus_params = {**params, "surplus_cents": surplus}
        batch.alert(invoice.owner_id, "payment_surplus", f"surplus:{payment.entry_ref}", surplus_params)
    batch.outcome.settled += 1
    batch.touched(invoice.number)


def reopen(batch: Batch, payment: PaymentLike, invoice: InvoiceLike, was_sent: bool = False) -> None:
    """Apply a return to an invoice in memory: back to open (sent, when it had been sent to
    the client) or partially paid."""
    before = {"paid_cents": invoice.paid_cents, "status": invoice.status.value}
    new_paid, balance, reopened = reopen_amounts(
        invoice.total_gross_cents, invoice.paid_cents, payment.amount_cents
    )
    invoice.paid_cents = new_paid
    unpaid = InvoiceStatus.SENT if was_sent else InvoiceStatus.ISSUED
    invoice.status = InvoiceStatus.PARTIALLY_PAID if new_paid > 0 else unpaid
    batch.invoices[invoice.id] = invoice
    batch.paid_now.discard(invoice.id)
    batch.reopened.add(invoice.id)
    payment.invoice_id = invoice.id
    payment.status = PaymentStatus.MATCHED
    payment.matched_by = "return"
    after = {
        "paid_cents": new_paid,
        "status": invoice.status.value,
        "payment": payment.entry_ref,
        "return_code": payment.return_code,
    }
    batch.audit("invoice", invoice.id, "payment_returned", before, after)
    params = {
        "number": invoice.number or f"#{invoice.id}",
        "payer": _payer(batch, payment, invoice),
        "amount_cents": reopened,
        "balance_cents": balance,
        "currency": invoice.currency,
        "reason_key": f"return_reason.{payment.return_code or 'none'}",
        "code": payment.return_code or "—",
    }
    batch.returns.append((invoice.owner_id, payment.entry_ref, params))
    batch.outcome.returned += 1
    batch.touched(invoice.number)


async def was_sent(invoice_id: int) -> bool:
    """Was the invoice emailed to the client (its status before it was paid was `sent`)?"""
    return await OutboxEmail.filter(
        invoice_id=invoice_id, purpose="invoice", status=OutboxStatus.SENT
    ).exists()


async def settle_return(
    batch: Batch,
    payment: PaymentLike,
    notice: PaymentNotice,
    by_rf: dict[str, InvoiceView],
    by_number: dict[str, InvoiceView],
    mirrored: list[InvoiceView],
) -> None:
    """A credit that came back: reopen the invoice it names, or the one the credit it
    mirrors had settled; else leave it for a person. An invoice cancelled by a credit note
    is never reopened (its refund deals with the money): the return then waits."""
    invoice = returned_invoice(notice, by_rf, by_number, batch.invoices)
    if invoice is None:
        found = [batch.invoices.get(i.id, i) for i in mirrored]
        usable = [i for i in found if returnable(i, payment.currency)]
        invoice = batch.invoices.setdefault(usable[0].id, usable[0]) if usable else None
    if invoice is None:
        code = payment.return_code or "—"
        batch.hold(
            payment.entry_ref,
            f"a returned payment ({code}) tied to no invoice",
            ["held.return_unmatched", {"code": code}],
        )
        return
    reopen(batch, payment, invoice, await was_sent(invoice.id))


async def credited(batch: Batch, payment: PaymentLike, invoice: InvoiceLike) -> None:
    """Money received for an invoice a credit note cancelled (the invoice locked) is owed
    back to the client: it is added to the credit note's refund, which opens if the invoice
    was unpaid when credited. The invoice stays cancelled; collections, managers and its
    owner are told. When the refund was already made (or no credit note is found), the
    payment waits for a person instead, with the reason."""
    number = invoice.number or f"#{invoice.id}"
    note = await Invoice.filter(credit_of_id=invoice.id, kind=InvoiceKind.CREDIT_NOTE).order_by("-id").first()
    refund = None if note is None else await Refund.filter(credit_note_id=note.id).select_for_update().first()
    if note is None or (refund is not None and refund.status != RefundStatus.OWED):
        credit_note = (note.number or "") if note is not None else "—"
        batch.hold(
            payment.entry_ref,
            f"a payment for invoice {number}, cancelled by credit note {credit_note} "
            "whose refund was already made: pay it back or tie it by hand",
            ["held.credited_refunded", {"number": number, "credit_note": credit_note}],
        )
        return
    before = 0 if refund is None else refund.amount_cents
    if refund is None:
        refund = await Refund.create(
            credit_note_id=note.id,
            invoice_id=invoice.id,
            contact_id=invoice.contact_id,
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            created_at=batch.now,
        )
    else:
        await Refund.filter(id=refund.id).update(amount_cents=F("amount_cents") + payment.amount_cents)
        refund.amount_cents += payment.amount_cents
    payment.invoice_id = invoice.id
    payment.status = PaymentStatus.MATCHED
    payment.matched_by = "credited"
    after = {"amount_cents": refund.amount_cents, "payment": payment.entry_ref, "invoice": number}
    batch.audit("refund", refund.id, "payment_on_credited", {"amount_cents": before}, after)
    params = {
        "number": number,
        "credit_note": note.number or "",
        "currency": payment.currency,
        "payer": _payer(batch, payment, invoice),
        "amount_cents": payment.amount_cents,
        "total_cents": refund.amount_cents,
    }
    team = [u.id for u in await User.filter(role__in=list(REFUND_ROLES), active=True)]
    for user_id in dict.fromkeys([invoice.owner_id, *team]):
        batch.alert(user_id, "payment_on_credited", f"credited:{payment.entry_ref}", params)
    batch.outcome.credited += 1
    batch.touched(invoice.number)
