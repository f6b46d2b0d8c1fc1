"""Moves the PA queues: submits queued flows, polls for news, applies what arrived.

A job (or `entonnoir` CLI) calls `run_cycle()`; each step is also callable alone. The rules
live in `storage.einvoicing`; this module only talks to the PA and hands over plain values.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from mail.pa.cdar import CdarError, StatusDocument, build_cdar, parse_cdar
from mail.pa.client import FlowInfo, PaClient, PaError, PaRefused, PaUnavailable, sha256_hex
from mail.pa.documents import document_bytes
from mail.pa.incoming import IncomingInvoiceError, parse_incoming_invoice
from storage.einvoicing.directory import addressing_of, is_stale, remember_addressing
from storage.einvoicing.inbound import (
    claim_inbound,
    inbound_done,
    inbound_retry,
    note_flows,
    read_cursor,
    remember_webhooks,
    subscribed_webhooks,
    write_cursor,
)
from storage.einvoicing.lifecycle import ReceivedStatus, apply_ack, apply_received_status, mark_done
from storage.einvoicing.queue import claim_due, mark_failed, mark_retry
from storage.einvoicing.suppliers import receive_supplier_invoice
from storage.models import (
    Contact,
    Invoice,
    PaAddressing,
    PaInboundFlow,
    PaSubmission,
    PaSubmissionKind,
)

if TYPE_CHECKING:
    from storage.invoicing import Seller

__all__ = [
    "CycleResult",
    "ensure_webhooks",
    "flush_submissions",
    "lookup_addressing",
    "poll_flows",
    "process_inbound",
    "run_cycle",
    "subscribe_webhooks",
]

log = logging.getLogger(__name__)
SEARCH_PAGE = 100
_EPOCH = "1970-01-01T00:00:00Z"


@dataclass
class CycleResult:
    submitted: int = 0
    retried: int = 0
    failed: int = 0
    noted: int = 0
    applied: int = 0


async def _payload(sub: PaSubmission, seller: Seller, now: datetime) -> tuple[bytes, FlowInfo, str]:
    if sub.kind == PaSubmissionKind.INVOICE:
        assert sub.invoice_id is not None
        content = await document_bytes(sub.invoice_id, seller)
        name = f"{sub.params.get('number', sub.invoice_id)}.pdf"
        return (
            content,
            FlowInfo(
                name=name, flow_syntax="Factur-X", tracking_id=sub.tracking_id, sha256=sha256_hex(content)
            ),
            "application/pdf",
        )
    p = sub.params
    ours = sub.invoice_id is not None  # a status on one of our invoices (212), else a supplier's
    code = int(sub.status_code or 0)
    doc = StatusDocument(
        document_id=f"{p.get('number', '')}_{code}_{now:%Y%m%d%H%M%S}"[:70],
        code=code,
        at=now,
        invoice_number=str(p.get("number", "")),
        invoice_type=str(p.get("type_code", "380")),
        invoice_date=date.fromisoformat(str(p.get("issue_date") or now.date().isoformat())),
        invoice_issuer_siren=seller.siren if ours else str(p.get("counterpart_siren", "")),
        sender_role="SE" if ours else "BY",
        issuer_siren=seller.siren,
        issuer_name=seller.name,
        recipient_siren=str(p.get("counterpart_siren", "")),
        recipient_role="BY" if ours else "SE",
        reason_code=str(p.get("reason_code") or ""),
        reason=str(p.get("reason") or ""),
        amount_cents=p.get("amount_cents"),
        currency=str(p.get("currency") or "EUR"),
    )
    content = build_cdar(doc)
    return (
        content,
        FlowInfo(
            name=f"CDV-{code}-{doc.invoice_number}.xml"[:255],
            flow_syntax="CDAR",
            tracking_id=sub.tracking_id,
            sha256=sha256_hex(content),
            processing_rule="NotApplicable",
        ),
        "application/xml",
    )


async def lookup_addressing(client: PaClient, contact_id: int, now: datetime) -> PaAddressing | None:
    """Ask the PA's directory for the client's e-invoicing address when the cache is stale."""
    contact = await Contact.get(id=contact_id)
    siren = (contact.siren or "")[:9]
    if not siren or not is_stale(await addressing_of(contact_id), siren, now):
        return await addressing_of(contact_id)
    lines = await client.directory_lines(siren=siren)
    return await remember_addressing(contact_id, siren, lines, now)


async def _refresh_addressing(client: PaClient, sub: PaSubmission, now: datetime) -> None:
    """Before an invoice goes, its client's directory entry is refreshed if stale; the
    directory being down does not hold the invoice back (the PA routes by the SIREN)."""
    if sub.kind != PaSubmissionKind.INVOICE or sub.invoice_id is None:
        return
    invoice = await Invoice.get(id=sub.invoice_id)
    try:
        await lookup_addressing(client, invoice.contact_id, now)
    except PaError as exc:
        log.warning("PA directory lookup for C%s failed: %s", invoice.contact_id, exc)


async def _submit_one(
    client: PaClient, sub: PaSubmission, seller: Seller, now: datetime, result: CycleResult
) -> None:
    await _refresh_addressing(client, sub, now)
    try:
        if sub.attempts > 1:  # an earlier attempt's outcome is unknown: did the PA get it?
            found = await client.find_by_tracking_id(sub.tracking_id)
            if found is not None:
                await mark_done(sub, str(found["flowId"]), now)
                result.submitted += 1
                return
        content, info, mimetype = await _payload(sub, seller, now)
        accepted = await client.submit_flow(content, info, mimetype)
    except PaUnavailable as exc:
        await mark_retry(sub, str(exc), now)
        result.retried += 1
        return
    except PaRefused as exc:
        await mark_failed(sub, str(exc), now)
        result.failed += 1
        return
    except Exception as exc:  # a document that cannot be rendered now: retried, then a human
        log.exception("PA flow %s could not be prepared", sub.tracking_id)
        await mark_retry(sub, f"{type(exc).__name__}: {exc}", now)
        result.retried += 1
        return
    await mark_done(sub, str(accepted["flowId"]), now)
    result.submitted += 1


async def flush_submissions(
    client: PaClient, seller: Seller, now: datetime, result: CycleResult | None = None, limit: int = 50
) -> CycleResult:
    """Submit every queued flow that is due (invoices, statuses)."""
    result = result or CycleResult()
    for sub in await claim_due(now, limit):
        await _submit_one(client, sub, seller, now, result)
    return result


async def poll_flows(client: PaClient, result: CycleResult | None = None, max_pages: int = 20) -> CycleResult:
    """`POST /v1/flows/search` from the cursor on; note every flow heard of."""
    result = result or CycleResult()
    for _ in range(max_pages):
        cursor = await read_cursor() or _EPOCH
        found = await client.search_flows({"updatedAfter": cursor}, limit=SEARCH_PAGE)
        result.noted += await note_flows(found)
        stamps = [str(f.get("updatedAt") or "") for f in found if f.get("updatedAt")]
        if stamps:
            await write_cursor(max(stamps))
        if len(found) < SEARCH_PAGE or not stamps:
            break
    return result


async def _apply(client: PaClient, flow: PaInboundFlow, now: datetime, auto_approve: bool) -> bool:
    if flow.flow_type == "CustomerInvoice" and flow.direction == "Out":
        at = _instant(flow.updated_at_pa) or now
        return await apply_ack(
            flow.tracking_id or "", flow.flow_id, flow.ack_status, flow.meta.get("details") or [], at, now
        )
    if flow.flow_type == "CustomerInvoiceLC" and flow.direction == "In":
        changed = False
        for status in parse_cdar(await client.download(flow.flow_id)):
            changed |= await apply_received_status(
                ReceivedStatus(
                    flow_id=flow.flow_id,
                    invoice_number=status.invoice_number,
                    code=status.code,
                    at=status.at,
                    reason_code=status.reason_code,
                    reason=status.reason,
                    amount_cents=status.amount_cents,
                ),
                now,
            )
        return changed
    if flow.flow_type == "SupplierInvoice" and flow.direction == "In":
        content = await client.download(flow.flow_id)
        parsed = await asyncio.to_thread(parse_incoming_invoice, content)  # XSD, PDF: heavy
        return (
            await receive_supplier_invoice(parsed, flow.flow_id, now, auto_approve=auto_approve) is not None
        )
    return False


async def process_inbound(
    client: PaClient, now: datetime, *, auto_approve: bool = False, result: CycleResult | None = None
) -> CycleResult:
    """Apply every noted flow: acknowledgements, statuses, supplier invoices."""
    result = result or CycleResult()
    for flow in await claim_inbound(now):
        try:
            result.applied += bool(await _apply(client, flow, now, auto_approve))
        except PaUnavailable as exc:
            await inbound_retry(flow, str(exc), now)
            continue
        except (PaRefused, CdarError, IncomingInvoiceError) as exc:
            log.warning("PA flow %s not applied: %s", flow.flow_id, exc)
            await inbound_retry(flow, str(exc), now)
            continue
        await inbound_done(flow)
    return result


async def run_cycle(
    client: PaClient, seller: Seller, now: datetime, *, auto_approve: bool = False
) -> CycleResult:
    """One pass: submit, poll, apply (each step tolerates the PA being down)."""
    result = await flush_submissions(client, seller, now)
    try:
        await poll_flows(client, result)
    except PaUnavailable as exc:
        log.warning("PA search unavailable: %s", exc)
    await process_inbound(client, now, auto_approve=auto_approve, result=result)
    return result


# What we want the PA to call us about: statuses of our invoices, their acknowledgements,
# supplier invoices for us.
WEBHOOK_TOPICS = (("CustomerInvoiceLC", "In"), ("CustomerInvoice", "Out"), ("SupplierInvoice", "In"))


async def subscribe_webhooks(client: PaClient, url: str, token: str = "") -> list[str]:
    """Ask the PA to call our webhook for every topic (done once when the web server runs)."""
    return [
        await client.subscribe_webhook(url, flow_type, direction, token)
        for flow_type, direction in WEBHOOK_TOPICS
    ]


async def ensure_webhooks(client: PaClient, url: str, token: str) -> bool:
    """Subscribe our webhooks once per (URL, token): True when it was done now.

    Called by the PA job (once per period across instances), so several instances, restarts
    and PA outages at start end in one subscription, retried until the PA takes it; a new
    public URL or token subscribes again.
    """
    fingerprint = sha256_hex(f"{url}\n{token}".encode())
    if await subscribed_webhooks() == fingerprint:
        return False
    ids = await subscribe_webhooks(client, url, token)
    await remember_webhooks(fingerprint, url, ids)
    log.info("PA webhooks subscribed at %s (%d topics)", url, len(ids))
    return True


def _instant(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
