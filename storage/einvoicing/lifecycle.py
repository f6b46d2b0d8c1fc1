"""Our invoices' life cycle at the PA: statuses received (webhook or polling) and sent.

Each status is stored once with its date (`PaStatusEvent`, dedupe key = the CDAR flow or
the acknowledgement it came from); the invoice's current status is recomputed from all the
statuses of its current submission by the pure rule `statuses.current_status`, so
duplicates and out-of-order arrivals end in the right state. A status that becomes the
current one alerts the owner (in the same transaction): a rejection or a refusal says what
to fix; a dispute opens or pauses the collection task as a dispute typed in chat does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.transactions import in_transaction

from storage import audit
from storage.access import can_write_owned
from storage.alerts import ActionKind, AlertAction, alert_user
from storage.collections import dispute_from_platform
from storage.documents import Render, sha256_hex
from storage.einvoicing.queue import held, queue_again, queue_status
from storage.einvoicing.statuses import FINAL, Lifecycle, StatusFact, current_status, label
from storage.errors import Conflict, NotFound
from storage.models import (
    Invoice,
    InvoiceDocument,
    InvoiceStatus,
    OutboxEmail,
    OutboxStatus,
    PaInvoice,
    PaQueueState,
    PaStatusEvent,
    PaSubmission,
    PaSubmissionKind,
    User,
)

__all__ = [
    "CashedPayment",
    "ReceivedStatus",
    "Resubmitted",
    "apply_ack",
    "apply_received_status",
    "invoice_statuses",
    "mark_done",
    "queue_cashed",
    "record_status",
    "resubmit_invoice",
]

_KIND = {
    Lifecycle.REJECTED: "pa_rejected",
    Lifecycle.REFUSED: "pa_refused",
    Lifecycle.DISPUTED: "pa_disputed",
    Lifecycle.SUSPENDED: "pa_suspended",
}
# Statuses the owner hears about (the others are shown on the card only).
_TOLD = frozenset(
    {
        Lifecycle.MADE_AVAILABLE,
        Lifecycle.APPROVED,
        Lifecycle.PARTIALLY_APPROVED,
        Lifecycle.PAYMENT_SENT,
        *_KIND,
    }
)


@dataclass(frozen=True)
class ReceivedStatus:
    """A CDAR status about one of our invoices, as parsed from the PA's flow."""

    flow_id: str
    invoice_number: str
    code: int
    at: datetime
    reason_code: str = ""
    reason: str = ""
    amount_cents: int | None = None


@dataclass(frozen=True)
class CashedPayment:
    """A bank payment that settled (part of) an invoice: the 212 status to send."""

    invoice_id: int
    amount_cents: int
    booking_date: date
    entry_ref: str


async def record_status(
    invoice_id: int,
    code: Lifecycle,
    at: datetime,
    *,
    dedupe_key: str,
    now: datetime,
    reason_code: str = "",
    reason: str = "",
    amount_cents: int | None = None,
) -> bool:
    """Store one status of an invoice (once per dedupe key) and bring its current status up
    to date; True when the current status changed. Call inside a transaction or alone."""
    async with in_transaction():
        pa = await PaInvoice.get_or_none(invoice_id=invoice_id)
        if pa is None:
            return False
        _, created = await PaStatusEvent.get_or_create(
            dedupe_key=dedupe_key[:200],
            defaults={
                "invoice_id": invoice_id,
                "code": int(code),
                "at": at,
                "attempt": pa.attempt,
                "reason_code": reason_code[:64] or None,
                "reason": reason[:2000] or None,
                "amount_cents": amount_cents,
            },
        )
        if not created:
            return False
        events = await PaStatusEvent.filter(invoice_id=invoice_id, attempt=pa.attempt, outgoing=False)
        facts = [StatusFact(c, e.at) for e in events if (c := Lifecycle.of(e.code)) is not None]
        now_fact = current_status(facts)
        if now_fact is None or (pa.status_code == now_fact.code and pa.status_at == now_fact.at):
            return False
        previous = Lifecycle.of(pa.status_code) if pa.status_code is not None else None
        event = next(e for e in events if e.code == now_fact.code and e.at == now_fact.at)
        pa.status_code, pa.status_at = int(now_fact.code), now_fact.at
        pa.reason = event.reason
        await pa.save(update_fields=["status_code", "status_at", "reason", "updated_at"])
        if previous != now_fact.code:
            await _tell(pa, now_fact.code, previous, event, now)
    return True


async def _tell(
    pa: PaInvoice, code: Lifecycle, previous: Lifecycle | None, event: PaStatusEvent, now: datetime
) -> None:
    invoice = await Invoice.get(id=pa.invoice_id).prefetch_related("contact")
    number = invoice.number or f"#{invoice.id}"
    if code == Lifecycle.DISPUTED:
        await dispute_from_platform(invoice.id, True, now, event.reason or "")
    elif previous == Lifecycle.DISPUTED and code in (
        Lifecycle.APPROVED,
        Lifecycle.PARTIALLY_APPROVED,
        Lifecycle.COMPLETED,
    ):
        await dispute_from_platform(invoice.id, False, now, "platform")
    if code not in _TOLD:
        return
    params: dict[str, Any] = {
        "number": number,
        "contact": invoice.contact.name,
        "code": int(code),
        "status_en": label(code, "en"),
        "status_fr": label(code, "fr"),
        "reason": event.reason or "-",
        "reason_code": event.reason_code or "-",
    }
    actions = []
    if code == Lifecycle.REJECTED:
        actions = [AlertAction(ActionKind.RESUBMIT_INVOICE, invoice.id)]
    await alert_user(
        invoice.owner_id,
        _KIND.get(code, "pa_status"),
        f"pa-status:{invoice.id}:{pa.attempt}:{int(code)}",
        params,
        actions,
        urgent=code in FINAL,
    )


async def mark_done(sub: PaSubmission, flow_id: str, now: datetime) -> bool:
    """The PA accepted a flow we sent (claimed from `queue`): keep its id; an invoice is now
    "submitted" (200), a status we emitted is recorded as sent."""
    async with in_transaction():
        done = await PaSubmission.filter(held(sub)).update(
            state=PaQueueState.DONE, claim_token=None, flow_id=flow_id[:36], done_at=now, last_error=None
        )
        if not done:
            return False
        if sub.kind == PaSubmissionKind.INVOICE and sub.invoice_id is not None:
            await _submitted(sub, flow_id, now)
        elif sub.status_code is not None:
            await PaStatusEvent.get_or_create(
                dedupe_key=f"out:{sub.tracking_id}",
                defaults={
                    "invoice_id": sub.invoice_id,
                    "supplier_invoice_id": sub.supplier_invoice_id,
                    "code": sub.status_code,
                    "at": now,
                    "outgoing": True,
                    "reason_code": sub.params.get("reason_code"),
                    "reason": sub.params.get("reason"),
                    "amount_cents": sub.params.get("amount_cents"),
                },
            )
    return True


async def _submitted(sub: PaSubmission, flow_id: str, now: datetime) -> None:
    pa = await PaInvoice.get(invoice_id=sub.invoice_id)
    if pa.tracking_id != sub.tracking_id:  # an older attempt answered late
        return
    pa.flow_id = flow_id[:36]
    await pa.save(update_fields=["flow_id", "updated_at"])
    # Delivered to the platform is "sent", as an accepted email is (later states are kept).
    await Invoice.filter(id=pa.invoice_id, status=InvoiceStatus.ISSUED).update(status=InvoiceStatus.SENT)
    await record_status(
        pa.invoice_id, Lifecycle.SUBMITTED, now, dedupe_key=f"submitted:{sub.tracking_id}", now=now
    )


async def apply_received_status(status: ReceivedStatus, now: datetime) -> bool:
    """A CDAR status about one of our invoices (from the PA): record it; False if unknown."""
    code = Lifecycle.of(status.code)
    invoice = await Invoice.get_or_none(number=status.invoice_number)
    if code is None or invoice is None:
        return False
    return await record_status(
        invoice.id,
        code,
        status.at,
        dedupe_key=f"cdar:{status.flow_id}",
        now=now,
        reason_code=status.reason_code,
        reason=status.reason,
        amount_cents=status.amount_cents,
    )


async def apply_ack(
    tracking_id: str, flow_id: str, ack_status: str, details: Sequence[Any], at: datetime, now: datetime
) -> bool:
    """The PA's acknowledgement of one of our invoice flows: Ok = deposited (200), Error =
    rejected (213) with the PA's reasons. Unknown tracking ids are ignored."""
    pa = await PaInvoice.get_or_none(tracking_id=tracking_id)
    if pa is None or ack_status not in ("Ok", "Error"):
        return False
    if ack_status == "Ok":
        return await record_status(
            pa.invoice_id, Lifecycle.SUBMITTED, at, dedupe_key=f"ack:{flow_id}:Ok", now=now
        )
    reasons = [d for d in details if isinstance(d, dict)]
    reason = "; ".join(f"{d.get('item', '')}: {d.get('reasonMessage', '')}".strip(": ") for d in reasons)
    code = str(reasons[0].get("reasonCode", "")) if reasons else ""
    return await record_status(
        pa.invoice_id,
        Lifecycle.REJECTED,
        at,
        dedupe_key=f"ack:{flow_id}:Error",
        now=now,
        reason_code=code,
        reason=reason or "rejected",
    )


async def queue_cashed(payments: Sequence[CashedPayment]) -> int:
    """Queue the "Encaissée" (212) status for each payment on an invoice that went through
    the PA (call inside the settling transaction); returns how many were queued."""
    if not payments:
        return 0
    ids = sorted({p.invoice_id for p in payments})
    at_pa = {pa.invoice_id: pa for pa in await PaInvoice.filter(invoice_id__in=ids)}
    queued = 0
    for payment in payments:
        pa = at_pa.get(payment.invoice_id)
        if pa is None or pa.status_code in (Lifecycle.REJECTED, Lifecycle.REFUSED):
            continue
        invoice = await Invoice.get(id=payment.invoice_id).prefetch_related("contact")
        sub = await queue_status(
            Lifecycle.CASHED,
            f"cashed:{payment.entry_ref}",
            invoice_id=payment.invoice_id,
            params={
                "number": invoice.number,
                "type_code": _type_code(invoice),
                "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else "",
                "counterpart_siren": (invoice.contact.siren or "")[:9],
                "amount_cents": payment.amount_cents,
                "currency": invoice.currency,
                "date": payment.booking_date.isoformat(),
            },
        )
        queued += sub is not None
    return queued


def _type_code(invoice: Invoice) -> str:
    return "381" if invoice.kind.value == "credit_note" else "380"


@dataclass(frozen=True)
class Resubmitted:
    """A resubmission: the platform's row, and whether the document was issued anew."""

    pa: PaInvoice
    refrozen: bool


async def _never_delivered(invoice: Invoice) -> bool:
    """True when no one outside ever got this document: never made available to the buyer by
    a platform, no email of it left (or is leaving) the outbox, nothing paid on it. (Its PA
    submissions were all rejected or failed: a resubmission is only possible after one.)"""
    if invoice.paid_cents:
        return False
    # Made available to the buyer (203) or anything the buyer did: it was delivered once.
    if (
        await PaStatusEvent.filter(invoice_id=invoice.id, code__gte=Lifecycle.MADE_AVAILABLE)
        .exclude(code=Lifecycle.REJECTED)
        .exists()
    ):
        return False
    return not await OutboxEmail.filter(
        invoice_id=invoice.id, status__in=(OutboxStatus.SENT, OutboxStatus.SENDING)
    ).exists()


async def resubmit_invoice(actor: User, invoice_id: int, now: datetime, *, render: Render) -> Resubmitted:
    """After a rejection (or a failed submission) is fixed, submit the invoice again.

    A platform rejection (213) means the buyer's platform never received the invoice: it is
    not yet a delivered invoice. So when EVERY submission was rejected or failed and the
    document never left otherwise (not emailed, nothing paid), it keeps its number and is
    issued anew from the fixed data: re-rendered (`render`), its frozen bytes and SHA-256
    replaced, the change audit-logged with both digests — then submitted. A document the
    buyer already holds (emailed, or paid) is never changed: it goes again byte for byte,
    and a correction of its content needs a credit note and a new invoice.
    """
    pa = await PaInvoice.get_or_none(invoice_id=invoice_id)
    invoice = await Invoice.get_or_none(id=invoice_id)
    if pa is None or invoice is None or not can_write_owned(actor, invoice.owner_id):
        raise NotFound("invoice", ref=f"I{invoice_id}")
    failed = await PaSubmission.filter(tracking_id=pa.tracking_id, state=PaQueueState.FAILED).exists()
    if pa.status_code != Lifecycle.REJECTED and not failed:
        raise Conflict("pa_not_rejected", ref=invoice.number or f"I{invoice_id}")
    async with in_transaction():
        # Two presses of Resubmit (or two instances): only the first moves the attempt on.
        if not await PaInvoice.filter(id=pa.id, attempt=pa.attempt).update(attempt=pa.attempt):
            raise Conflict("pa_not_rejected", ref=invoice.number or f"I{invoice_id}")
        refrozen = await _never_delivered(invoice)
        before = await InvoiceDocument.get_or_none(invoice_id=invoice_id)
        after_sha = before.sha256 if before is not None else None
        if refrozen:
            pdf = bytes(await render(invoice_id))
            after_sha = sha256_hex(pdf)
            if before is None:
                await InvoiceDocument.create(
                    invoice_id=invoice_id, pdf=pdf, sha256=after_sha, size=len(pdf), frozen_at=now
                )
            else:
                await InvoiceDocument.filter(id=before.id).update(
                    pdf=pdf, sha256=after_sha, size=len(pdf), frozen_at=now
                )
        await queue_again(pa)
        await audit.record(
            actor,
            "invoice",
            invoice_id,
            "pa_resubmit",
            {"sha256": before.sha256 if before is not None else None},
            {"tracking_id": pa.tracking_id, "sha256": after_sha, "refrozen": refrozen},
        )
    return Resubmitted(pa, refrozen)


async def invoice_statuses(invoice_id: int) -> tuple[PaInvoice | None, list[PaStatusEvent]]:
    """The invoice's place at the PA and every status with its date (for its card)."""
    pa = await PaInvoice.get_or_none(invoice_id=invoice_id)
    events = await PaStatusEvent.filter(invoice_id=invoice_id).order_by("at", "id")
    return pa, list(events)
