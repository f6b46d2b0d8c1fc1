"""Flows to the PA as rows: queued in the transaction of their cause, sent by `mail.pa`.

Life of a row (as the email outbox)::

    pending ──claim──▶ sending ──mark_done──▶ done      (flow id kept; invoice "submitted")
       ▲                 │ ├────mark_retry──▶ pending   (outage, 5xx, 429: backoff)
       │                 │ └────mark_failed─▶ failed    (the PA refused the request: alert)
       └── lease expired ┘   (the worker died between claim and mark: claimed again)

The row's `tracking_id` is sent as the flow's `trackingId`. A row claimed a second time
(its earlier attempt's outcome unknown) is first looked up at the PA by that tracking id,
so a crash or an outage between the PA's acceptance and `mark_done` submits nothing twice.

`mark_done` lives in `lifecycle`: what an accepted flow means (an invoice submitted, a
status sent) is a life-cycle fact, recorded with the row in one transaction. It records
only while this runner's claim `held`, as `mark_retry` and `mark_failed` here do.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from storage.alerts import alert_role, alert_user
from storage.einvoicing.routing import BuyerFacts, Route, route_for
from storage.einvoicing.statuses import Lifecycle
from storage.models import (
    Contact,
    ContactKind,
    Invoice,
    PaAddressing,
    PaInboundFlow,
    PaInvoice,
    PaQueueState,
    PaSubmission,
    PaSubmissionKind,
    Role,
    SupplierInvoice,
)

__all__ = [
    "LEASE",
    "MAX_ATTEMPTS",
    "claim_due",
    "held",
    "invoice_tracking_id",
    "mark_failed",
    "mark_retry",
    "queue_again",
    "queue_counts",
    "queue_invoice",
    "queue_status",
    "retry_delay",
    "route_issued",
    "status_tracking_id",
]

LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 30  # about a day of outages, then a human is told
_FIRST_RETRY = timedelta(seconds=30)
_MAX_RETRY = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt: 30 s, 1 min, 2 min... capped at 1 h."""
    exponent = max(0, min(attempts - 1, 20))
    delay: timedelta = _FIRST_RETRY * (2**exponent)
    return min(delay, _MAX_RETRY)


def invoice_tracking_id(number: str, attempt: int) -> str:
    """`F2026-00042-1`: the invoice number and its submission attempt (<= 36 characters)."""
    return f"{number}-{attempt}"[:36]


def status_tracking_id(code: int, cause: str) -> str:
    """A status flow's tracking id: the code and a digest of its cause (stable, <= 36)."""
    return f"LC{code}-" + hashlib.sha256(cause.encode()).hexdigest()[:30]


async def queue_invoice(invoice: Invoice) -> PaSubmission | None:
    """Queue an issued invoice (or credit note) for the PA, once (call inside the issuing
    transaction). Returns None when it is already queued or submitted."""
    assert invoice.number is not None
    pa, created = await PaInvoice.get_or_create(
        invoice_id=invoice.id,
        defaults={"tracking_id": invoice_tracking_id(invoice.number, 1), "attempt": 1},
    )
    if not created:
        return None
    return await PaSubmission.create(
        tracking_id=pa.tracking_id,
        kind=PaSubmissionKind.INVOICE,
        invoice_id=invoice.id,
        params={"number": invoice.number, "attempt": 1},
    )


async def queue_again(pa: PaInvoice) -> PaSubmission:
    """A fixed invoice goes again, as a new attempt with its own tracking id (in a transaction)."""
    invoice = await Invoice.get(id=pa.invoice_id)
    assert invoice.number is not None
    pa.attempt += 1
    pa.tracking_id = invoice_tracking_id(invoice.number, pa.attempt)
    await PaInvoice.filter(id=pa.id).update(
        attempt=pa.attempt,
        tracking_id=pa.tracking_id,
        flow_id=None,
        status_code=None,
        status_at=None,
        reason=None,
    )
    await pa.refresh_from_db()
    return await PaSubmission.create(
        tracking_id=pa.tracking_id,
        kind=PaSubmissionKind.INVOICE,
        invoice_id=invoice.id,
        params={"number": invoice.number, "attempt": pa.attempt},
    )


async def queue_status(
    code: Lifecycle,
    cause: str,
    *,
    invoice_id: int | None = None,
    supplier_invoice_id: int | None = None,
    params: dict[str, Any],
) -> PaSubmission | None:
    """Queue a CDAR status we emit, once per cause (call inside the causing transaction)."""
    tracking_id = status_tracking_id(int(code), cause)
    if await PaSubmission.filter(tracking_id=tracking_id).exists():
        return None
    return await PaSubmission.create(
        tracking_id=tracking_id,
        kind=PaSubmissionKind.STATUS,
        status_code=int(code),
        invoice_id=invoice_id,
        supplier_invoice_id=supplier_invoice_id,
        params=params,
    )


_Queued = TypeVar("_Queued", PaSubmission, PaInboundFlow)


async def claim_rows(model: type[_Queued], now: datetime, limit: int = 50) -> list[_Queued]:
    """Atomically take up to `limit` rows of a PA queue (`PaSubmission`, `PaInboundFlow`) to
    work on now: pending and due, or claimed by a runner whose lease expired. The guarded
    UPDATE with a fresh token means two instances never take the same row."""
    due = Q(state=PaQueueState.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    expired = Q(state=PaQueueState.SENDING) & Q(claimed_at__lt=now - LEASE)
    ids = await model.filter(due | expired).order_by("id").limit(limit).values_list("id", flat=True)
    if not ids:
        return []
    token = uuid.uuid4().hex
    await model.filter(Q(id__in=list(ids)) & (due | expired)).update(
        state=PaQueueState.SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1
    )
    return list(await model.filter(claim_token=token, state=PaQueueState.SENDING).order_by("id"))


async def claim_due(now: datetime, limit: int = 50) -> list[PaSubmission]:
    """Atomically take up to `limit` submissions to send now."""
    return await claim_rows(PaSubmission, now, limit)


def held(sub: PaSubmission) -> Q:
    """The row as this runner claimed it: an outcome is recorded only while the claim holds."""
    return Q(id=sub.id, state=PaQueueState.SENDING, claim_token=sub.claim_token)


async def mark_retry(sub: PaSubmission, error: str, now: datetime) -> bool:
    """A transient failure: try again after the backoff (or give up after MAX_ATTEMPTS)."""
    if sub.attempts >= MAX_ATTEMPTS:
        return await mark_failed(sub, error, now)
    return bool(
        await PaSubmission.filter(held(sub)).update(
            state=PaQueueState.PENDING,
            next_attempt_at=now + retry_delay(sub.attempts),
            claim_token=None,
            claimed_at=None,
            last_error=error[:2000],
        )
    )


async def mark_failed(sub: PaSubmission, error: str, now: datetime) -> bool:
    """A permanent failure: stop, and tell the invoice's owner (or the admins) why."""
    async with in_transaction():
        done = await PaSubmission.filter(held(sub)).update(
            state=PaQueueState.FAILED, claim_token=None, last_error=error[:2000]
        )
        if not done:
            return False
        owner_id = await _owner_of(sub)
        params = {
            "number": str(sub.params.get("number", "")),
            "error": error[:300],
            "code": sub.status_code or 0,
        }
        key = f"pa-failed:{sub.tracking_id}"
        if owner_id is not None:
            await alert_user(owner_id, "pa_failed", key, params, urgent=True)
        else:
            await alert_role((Role.ADMIN,), "pa_failed", key, params, urgent=True)
    return True


async def _owner_of(sub: PaSubmission) -> int | None:
    if sub.invoice_id is not None:
        invoice = await Invoice.get_or_none(id=sub.invoice_id)
        return invoice.owner_id if invoice else None
    if sub.supplier_invoice_id is not None:
        si = await SupplierInvoice.get_or_none(id=sub.supplier_invoice_id)
        return si.decided_by_id if si else None
    return None


async def queue_counts() -> dict[str, int]:
    """How many flows are in each state (for /status)."""
    return {s.value: await PaSubmission.filter(state=s).count() for s in PaQueueState}


async def route_issued(invoice: Invoice, customer: Contact, *, pa_enabled: bool) -> Route:
    """Decide where a just-issued invoice goes and queue it for the PA when it goes there
    (call inside the issuing transaction). The caller emails it unless the route is PA only."""
    addressing = await PaAddressing.get_or_none(contact_id=customer.id)
    buyer = BuyerFacts(
        business=customer.kind == ContactKind.COMPANY or bool(customer.siren),
        siren=(customer.siren or "")[:9],
        vat_number=customer.vat_number or "",
        billing_email=customer.billing_email or "",
        wants_pdf_email=addressing.also_email if addressing else False,
    )
    route = route_for(buyer, pa_enabled=pa_enabled)
    if route != Route.EMAIL:
        await queue_invoice(invoice)
    return route
