"""Refunds: money a credit note gives back to a client who had already paid.

A credit note against an invoice that was already paid, fully or partly, cancels the debt
but not the money received: that money is owed back to the client. `open_refund` records
it in the crediting transaction (alerting collections and managers: "refund to make");
it closes by hand (`mark_refunded`, `/refunded A2026-00001`) or by itself when the bank
reports the outgoing transfer (`match_refund_debits`, called where debits are recorded).

Matching rule (pure, `debit_matches`): an outgoing transfer (debit) settles an owed refund
when its currency and amount equal the refund's, and its text names the credit note or the
credited invoice, or it went to an account or a name known for the client. It settles
only when exactly one owed refund fits; anything else stays for a human.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from storage import audit
from storage.access import sees_everything
from storage.alerts import alert_role
from storage.errors import Conflict, Forbidden, InvalidInput, NotFound
from storage.models import (
    Contact,
    Invoice,
    InvoiceKind,
    PayerAccount,
    Payment,
    PaymentDirection,
    PaymentStatus,
    Refund,
    RefundStatus,
    Role,
    User,
)

__all__ = [
    "REFUND_ROLES",
    "RefundRow",
    "debit_matches",
    "list_refunds",
    "mark_refunded",
    "match_refund_debits",
    "open_refund",
    "refund_amount",
]

REFUND_ROLES = (Role.COLLECTIONS, Role.MANAGER)


# ---------------------------------------------------------------- pure rules


def refund_amount(credit_gross_cents: int, paid_cents: int) -> int:
    """What a credit note gives back: what was paid, at most the credit note's amount."""
    return max(0, min(credit_gross_cents, paid_cents))


def _words(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


def _compact(text: str | None) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def debit_matches(
    *,
    amount_cents: int,
    currency: str,
    text: str,
    payee_name: str | None,
    payee_iban: str | None,
    refund_cents: int,
    refund_currency: str,
    numbers: Iterable[str],
    client_name: str,
    client_ibans: Iterable[str],
) -> bool:
    """Does an outgoing transfer pay this refund? Same amount and currency, and it names the
    credit note or the invoice, or went to the client's account or name."""
    if abs(amount_cents) != refund_cents or currency.upper() != refund_currency.upper():
        return False
    said = _compact(text)
    if any(n and _compact(n) in said for n in numbers):
        return True
    iban = _compact(payee_iban)
    if iban and iban in {_compact(i) for i in client_ibans}:
        return True
    return bool(payee_name) and _words(payee_name) == _words(client_name)


# ---------------------------------------------------------------- use-cases


async def open_refund(credit: Invoice, paid_cents: int, now: datetime) -> Refund | None:
    """Inside the crediting transaction: the refund owed when the invoice was paid."""
    amount = refund_amount(credit.total_gross_cents, paid_cents)
    if amount <= 0 or credit.credit_of_id is None:
        return None
    refund = await Refund.create(
        credit_note_id=credit.id,
        invoice_id=credit.credit_of_id,
        contact_id=credit.contact_id,
        amount_cents=amount,
        currency=credit.currency,
        created_at=now,
    )
    original = await Invoice.get(id=credit.credit_of_id)
    contact = await Contact.get(id=credit.contact_id)
    await alert_role(
        REFUND_ROLES,
        "refund_due",
        f"refund-due:{refund.id}",
        _params(refund, credit.number or "", original.number or "", contact.name),
    )
    return refund


def _params(refund: Refund, credit_number: str, invoice_number: str, contact: str) -> dict[str, object]:
    return {
        "credit_note": credit_number,
        "number": invoice_number,
        "contact": contact,
        "amount_cents": refund.amount_cents,
        "currency": refund.currency,
    }


def _may_refund(actor: User) -> bool:
    return sees_everything(actor) or actor.role == Role.COLLECTIONS


async def _refund_for(ref: str) -> Refund:
    raw = (ref or "").strip().upper()
    if not raw:
        raise InvalidInput("usage", usage="/refunded A2026-00001")
    credit = await Invoice.get_or_none(number=raw)
    if credit is None:
        raise NotFound("invoice", ref=raw)
    refund = await Refund.get_or_none(credit_note_id=credit.id)
    if refund is None:
        if credit.kind == InvoiceKind.CREDIT_NOTE:
            raise Conflict("refund_none", ref=raw)
        refund = await Refund.filter(invoice_id=credit.id).order_by("-id").first()
        if refund is None:
            raise Conflict("refund_none", ref=raw)
    return refund


async def mark_refunded(actor: User, ref: str, now: datetime) -> Refund:
    """`/refunded A2026-00001`: the client was paid back (by the credit note or the invoice)."""
    if not _may_refund(actor):
        raise Forbidden("refund_forbidden")
    refund = await _refund_for(ref)
    async with in_transaction():
        closed = await Refund.filter(id=refund.id, status=RefundStatus.OWED).update(
            status=RefundStatus.DONE, closed_at=now, closed_by_id=actor.id
        )
        if not closed:
            raise Conflict("refund_done", ref=ref.strip().upper())
        await audit.record(actor, "refund", refund.id, "refunded", {"status": "owed"}, {"status": "done"})
        await _tell_done(refund, "manual")
    return await Refund.get(id=refund.id)


async def _tell_done(refund: Refund, how: str) -> None:
    credit = await Invoice.get(id=refund.credit_note_id)
    original = await Invoice.get(id=refund.invoice_id)
    contact = await Contact.get(id=refund.contact_id)
    await alert_role(
        REFUND_ROLES,
        f"refund_done_{how}",
        f"refund-done:{refund.id}",
        _params(refund, credit.number or "", original.number or "", contact.name),
    )


async def match_refund_debits(entry_refs: Sequence[str], now: datetime) -> int:
    """Settle owed refunds with the outgoing transfers just recorded (inside the recording
    transaction); returns how many refunds closed."""
    if not entry_refs:
        return 0
    owed = list(await Refund.filter(status=RefundStatus.OWED))
    if not owed:
        return 0
    debits = await Payment.filter(entry_ref__in=list(entry_refs), direction=PaymentDirection.DEBIT)
    numbers = {
        i.id: i.number or ""
        for i in await Invoice.filter(id__in={r.credit_note_id for r in owed} | {r.invoice_id for r in owed})
    }
    contacts = {c.id: c.name for c in await Contact.filter(id__in={r.contact_id for r in owed})}
    ibans: dict[int, list[str]] = {}
    for acc in await PayerAccount.filter(contact_id__in=list(contacts)):
        ibans.setdefault(acc.contact_id, []).append(acc.iban)
    closed = 0
    for debit in debits:
        text = f"{debit.reference or ''} {debit.remittance or ''}"
        fits = [
            r
            for r in owed
            if r.status == RefundStatus.OWED
            and debit_matches(
                amount_cents=debit.amount_cents,
                currency=debit.currency,
                text=text,
                payee_name=debit.payer_name,
                payee_iban=debit.payer_iban,
                refund_cents=r.amount_cents,
                refund_currency=r.currency,
                numbers=(numbers.get(r.credit_note_id, ""), numbers.get(r.invoice_id, "")),
                client_name=contacts.get(r.contact_id, ""),
                client_ibans=ibans.get(r.contact_id, ()),
            )
        ]
        if len(fits) != 1:
            continue
        refund = fits[0]
        # Closed only if still owed for the amount read: a person's /refunded or another
        # instance's statement may have closed it, or a payment on the credited invoice
        # raised it (storage.payments), since; the UPDATE waits for that commit, then checks.
        closed_now = await Refund.filter(
            id=refund.id,
            status=RefundStatus.OWED,
            amount_cents=refund.amount_cents,
        ).update(status=RefundStatus.DONE, closed_at=now, payment_id=debit.id)
        if not closed_now:
            refund.status = RefundStatus.DONE  # changed meanwhile: no other debit of this batch
            continue
        refund.status, refund.closed_at, refund.payment_id = RefundStatus.DONE, now, debit.id
        debit.status, debit.matched_by = PaymentStatus.MATCHED, "refund"
        debit.invoice_id = refund.credit_note_id
        await debit.save(update_fields=["status", "matched_by", "invoice_id"])
        await _tell_done(refund, "bank")
        closed += 1
    return closed


@dataclass(frozen=True)
class RefundRow:
    credit_note: str
    invoice: str
    contact: str
    amount_cents: int
    currency: str
    created_at: datetime


async def list_refunds(actor: User, limit: int = 30) -> list[RefundRow]:
    """Refunds still to make (collections, managers and admins; others see none)."""
    if not _may_refund(actor):
        return []
    refunds = (
        await Refund.filter(status=RefundStatus.OWED)
        .prefetch_related("credit_note", "invoice", "contact")
        .order_by("created_at", "id")
        .limit(limit)
    )
    return [
        RefundRow(
            r.credit_note.number or "",
            r.invoice.number or "",
            r.contact.name,
            r.amount_cents,
            r.currency,
            r.created_at,
        )
        for r in refunds
    ]
