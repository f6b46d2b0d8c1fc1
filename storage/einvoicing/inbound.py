"""Flows the PA tells us about, as rows: noted by the webhook or by polling, processed by a job.

Both ways of hearing about a flow call ONE `note_flows()`: a flow is a row keyed by its
flow id; hearing about it again with the same `updatedAt` changes nothing (duplicate
webhooks, a poll that overlaps a webhook), a newer `updatedAt` (its acknowledgement moved
on) queues it again. The job claims rows, downloads what it needs and applies it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from storage.alerts import alert_role
from storage.einvoicing.queue import MAX_ATTEMPTS, claim_rows, retry_delay
from storage.models import AppSetting, PaInboundFlow, PaQueueState, Role

__all__ = [
    "CURSOR_KEY",
    "claim_inbound",
    "inbound_done",
    "inbound_retry",
    "note_flows",
    "read_cursor",
    "remember_webhooks",
    "subscribed_webhooks",
    "write_cursor",
]

CURSOR_KEY = "pa_search_updated_after"
WEBHOOKS_KEY = "pa_webhooks"  # what our webhooks at the PA were subscribed with
# Flow types worth a row: our invoices' acknowledgements, statuses, supplier invoices.
WANTED = frozenset({"CustomerInvoice", "CustomerInvoiceLC", "SupplierInvoice"})


def _row(flow: Mapping[str, Any]) -> dict[str, Any] | None:
    """The row of a Flow resource (XP Z12-013 `Flow` schema), None when not for us."""
    flow_id = str(flow.get("flowId") or "")[:36]
    flow_type = str(flow.get("flowType") or "")
    if not flow_id or flow_type not in WANTED:
        return None
    ack = flow.get("acknowledgement") or {}
    return {
        "flow_type": flow_type,
        "direction": str(flow.get("flowDirection") or "")[:3],
        "ack_status": str(ack.get("status") or "")[:8],
        "tracking_id": (str(flow["trackingId"])[:36] if flow.get("trackingId") else None),
        "updated_at_pa": str(flow.get("updatedAt") or flow.get("submittedAt") or "")[:40],
        "meta": {
            "details": ack.get("details") or [],
            "name": str(flow.get("name") or "")[:255],
            "syntax": str(flow.get("flowSyntax") or "")[:12],
            "submittedAt": str(flow.get("submittedAt") or "")[:40],
        },
    }


async def note_flows(flows: Iterable[Mapping[str, Any]]) -> int:
    """Note flows heard of (webhook body or search results); returns how many are new news."""
    fresh = 0
    for flow in flows:
        row = _row(flow)
        if row is None:
            continue
        flow_id = str(flow["flowId"])[:36]
        known = await PaInboundFlow.get_or_none(flow_id=flow_id)
        if known is None:
            try:
                await PaInboundFlow.create(flow_id=flow_id, **row)
            except IntegrityError:  # a webhook and a poll noted it at the same instant
                continue
            fresh += 1
        elif row["updated_at_pa"] > known.updated_at_pa:
            await PaInboundFlow.filter(id=known.id).update(
                state=PaQueueState.PENDING, attempts=0, next_attempt_at=None, claim_token=None, **row
            )
            fresh += 1
    return fresh


async def claim_inbound(now: datetime, limit: int = 50) -> list[PaInboundFlow]:
    """Atomically take up to `limit` flows to process now."""
    return await claim_rows(PaInboundFlow, now, limit)


async def inbound_done(flow: PaInboundFlow) -> bool:
    return bool(
        await PaInboundFlow.filter(id=flow.id, claim_token=flow.claim_token).update(
            state=PaQueueState.DONE, claim_token=None, last_error=None
        )
    )


async def inbound_retry(flow: PaInboundFlow, error: str, now: datetime) -> bool:
    """Try again later; after MAX_ATTEMPTS the row stays failed and the admins are told."""
    state = PaQueueState.FAILED if flow.attempts >= MAX_ATTEMPTS else PaQueueState.PENDING
    async with in_transaction():
        moved = await PaInboundFlow.filter(id=flow.id, claim_token=flow.claim_token).update(
            state=state,
            claim_token=None,
            claimed_at=None,
            last_error=error[:2000],
            next_attempt_at=now + retry_delay(flow.attempts),
        )
        if moved and state == PaQueueState.FAILED:
            await alert_role(
                (Role.ADMIN,),
                "pa_inbound_failed",
                f"pa-in-failed:{flow.flow_id}",
                {"flow": flow.flow_id, "type": flow.flow_type, "error": error[:300]},
            )
    return bool(moved)


async def read_cursor() -> str | None:
    row = await AppSetting.get_or_none(key=CURSOR_KEY)
    if row is None or not isinstance(row.value, dict) or not row.value.get("at"):
        return None
    return str(row.value["at"])


async def write_cursor(value: str) -> None:
    """Move the polling cursor forward (never back)."""
    current = await read_cursor()
    if current is not None and value <= current:
        return
    await AppSetting.update_or_create(key=CURSOR_KEY, defaults={"value": {"at": value}})


async def subscribed_webhooks() -> str | None:
    """The fingerprint (URL + token digest) our webhooks were last subscribed with."""
    row = await AppSetting.get_or_none(key=WEBHOOKS_KEY)
    if row is None or not isinstance(row.value, dict):
        return None
    return str(row.value.get("fingerprint") or "") or None


async def remember_webhooks(fingerprint: str, url: str, ids: list[str]) -> None:
    """Record the subscription (the token itself is never stored: only in the digest)."""
    await AppSetting.update_or_create(
        key=WEBHOOKS_KEY, defaults={"value": {"fingerprint": fingerprint, "url": url, "ids": ids}}
    )
