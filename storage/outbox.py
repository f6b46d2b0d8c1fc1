"""Emails as rows: queued in the transaction of their cause, sent later by `mail.sender`.

Life of a row::

    pending ──claim──▶ sending ──mark_sent──▶ sent      (+ "email_sent" alert, invoice → sent)
       ▲                 │ ├────mark_retry──▶ pending   (transient: next_attempt_at = backoff)
       │                 │ └────mark_failed─▶ failed    (permanent: "email_failed" alert)
       ├── lease expired ┘   (the sender died between claim and mark: claimed again)
       └── release_claims ◀── sending (the sender stops early: the rows not tried go back)

The lease is short (LEASE, one minute) and the sender renews it (`renew_claims`) while it
works through a long batch, so a killed sender delays the emails it held by at most about
a minute; a sender asked to stop gives back what it has not tried (`release_claims`).

Delivery is at-least-once: a crash after the SMTP server accepted the message but before
`mark_sent` / `mark_sent_many` commits leaves the row in "sending"; once the lease expires
it is sent again with the same Message-ID (receivers and the owner can tell it is the same
email). The sender records accepted emails in small batches (`mail.sender.RECORD_EVERY`,
at most about a second apart), so a crash resends at most that batch. Nothing else sends
twice: a row is only sent by the worker whose claim token it carries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from storage.alerts import alert_role, alert_user, alert_users
from storage.models import (
    Invoice,
    InvoiceStatus,
    OutboxAttachment,
    OutboxEmail,
    OutboxStatus,
    Role,
    User,
)

__all__ = [
    "LEASE",
    "MAX_ATTEMPTS",
    "Attachment",
    "claim_due",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "mark_sent_many",
    "outbox_counts",
    "queue_email",
    "release_claims",
    "renew_claims",
    "requeue_failed",
    "retry_delay",
]

LEASE = timedelta(minutes=1)  # renewed while the sender works: a crash delays by <= 1 min
MAX_ATTEMPTS = 30  # about a day of transient failures, then a human is told
_FIRST_RETRY = timedelta(seconds=30)
_MAX_RETRY = timedelta(hours=1)


@dataclass(frozen=True)
class Attachment:
    """Literal bytes, or a document (invoice / purchase order PDF) rendered at send time."""

    filename: str
    mimetype: str
    content: bytes | None = None
    invoice_id: int | None = None
    purchase_order_id: int | None = None


async def queue_email(
    *,
    dedupe_key: str,
    message_id: str,
    to: list[str],
    subject: str,
    body_text: str,
    body_html: str | None = None,
    reply_to: str | None = None,
    attachments: list[Attachment] | None = None,
    owner: User | None = None,
    invoice: Invoice | None = None,
    purpose: str = "invoice",
) -> OutboxEmail | None:
    """Queue an email once per dedupe key (call inside the causing transaction)."""
    if await OutboxEmail.filter(dedupe_key=dedupe_key).exists():
        return None
    email = await OutboxEmail.create(
        dedupe_key=dedupe_key,
        message_id=message_id,
        to_addrs=to,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        reply_to=reply_to,
        owner=owner,
        invoice=invoice,
        purpose=purpose,
    )
    for att in attachments or []:
        await OutboxAttachment.create(
            email=email,
            filename=att.filename,
            mimetype=att.mimetype,
            content=att.content,
            invoice_id=att.invoice_id,
            purchase_order_id=att.purchase_order_id,
        )
    return email


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt: 30 s, 1 min, 2 min... capped at 1 h."""
    exponent = max(0, min(attempts - 1, 20))
    delay: timedelta = _FIRST_RETRY * (2**exponent)
    return min(delay, _MAX_RETRY)


async def claim_due(now: datetime, limit: int = 100) -> list[OutboxEmail]:
    """Atomically take up to `limit` emails to send now (pending and due, or lease expired).

    One guarded UPDATE stamps the rows with a fresh token; only rows still in the state we
    read are taken, so two senders never hold the same row.
    """
    stale = now - LEASE
    due = Q(status=OutboxStatus.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    expired = Q(status=OutboxStatus.SENDING) & Q(claimed_at__lt=stale)
    ids = await OutboxEmail.filter(due | expired).order_by("id").limit(limit).values_list("id", flat=True)
    if not ids:
        return []
    token = uuid.uuid4().hex
    await OutboxEmail.filter(Q(id__in=list(ids)) & (due | expired)).update(
        status=OutboxStatus.SENDING,
        claimed_at=now,
        claim_token=token,
        attempts=F("attempts") + 1,
    )
    return list(
        await OutboxEmail.filter(claim_token=token, status=OutboxStatus.SENDING)
        .order_by("id")
        .prefetch_related("attachments")
    )


async def renew_claims(token: str, now: datetime) -> int:
    """The sender still works on this claim: push its lease on (rows not yet marked)."""
    return await OutboxEmail.filter(claim_token=token, status=OutboxStatus.SENDING).update(claimed_at=now)


async def release_claims(token: str) -> int:
    """Give back the rows of a claim that were not tried (the sender stops): pending again.

    Their attempt is not counted. Rows already marked (sent, retry, failed) carry no
    longer this token in "sending", so they are left alone.
    """
    return await OutboxEmail.filter(claim_token=token, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.PENDING,
        claim_token=None,
        claimed_at=None,
        attempts=F("attempts") - 1,
    )


async def requeue_failed(now: datetime) -> int:
    """`entonnoir mail retry`: every failed email goes back to the queue, due now."""
    return await OutboxEmail.filter(status=OutboxStatus.FAILED).update(
        status=OutboxStatus.PENDING,
        next_attempt_at=now,
        attempts=0,
        claim_token=None,
        claimed_at=None,
    )


def _mine(email: OutboxEmail) -> Q:
    """The row, only while it is still held by the claim that produced `email`."""
    return Q(id=email.id, status=OutboxStatus.SENDING, claim_token=email.claim_token)


async def mark_sent(email: OutboxEmail, now: datetime, note: str | None = None) -> bool:
    """The server accepted the email: record it, tell its owner, mark its invoice sent."""
    return bool(await mark_sent_many([email], now, {email.id: note} if note else None))


async def mark_sent_many(
    emails: list[OutboxEmail], now: datetime, notes: dict[int, str] | None = None
) -> list[int]:
    """Record a batch of emails the server accepted, in one transaction; returns their ids.

    Only rows still held by the claim that produced them are recorded (a row whose lease
    expired and was taken by another sender is left to that sender). `notes`: recipients
    the server refused, per email id, kept as `last_error`.
    """
    if not emails:
        return []
    notes = notes or {}
    by_token: dict[str | None, list[int]] = {}
    for email in emails:
        by_token.setdefault(email.claim_token, []).append(email.id)
    done_token = uuid.uuid4().hex  # tells the rows this call moved from any other
    async with in_transaction():
        for token, ids in by_token.items():
            await OutboxEmail.filter(id__in=ids, status=OutboxStatus.SENDING, claim_token=token).update(
                status=OutboxStatus.SENT, sent_at=now, claim_token=done_token, last_error=None
            )
        held = set(
            cast(
                list[int],
                await OutboxEmail.filter(claim_token=done_token).values_list("id", flat=True),
            )
        )
        if not held:
            return []
        await OutboxEmail.filter(claim_token=done_token).update(claim_token=None)
        for email_id in sorted(held):
            if notes.get(email_id):
                await OutboxEmail.filter(id=email_id).update(last_error=notes[email_id][:2000])
        done = [e for e in emails if e.id in held]
        await alert_users(
            [
                (
                    e.owner_id,
                    "email_sent",
                    f"email-sent:{e.id}",
                    {"subject": e.subject, "to": ", ".join(e.to_addrs)},
                )
                for e in done
                if e.owner_id is not None
            ]
        )
        invoices = {e.invoice_id for e in done if e.invoice_id is not None}
        if invoices:
            await Invoice.filter(id__in=list(invoices), status=InvoiceStatus.ISSUED).update(
                status=InvoiceStatus.SENT
            )
    return [e.id for e in done]


async def mark_retry(email: OutboxEmail, error: str, now: datetime) -> bool:
    """A transient failure: try again after the backoff (or give up after MAX_ATTEMPTS)."""
    if email.attempts >= MAX_ATTEMPTS:
        return await mark_failed(email, error, now)
    return bool(
        await OutboxEmail.filter(_mine(email)).update(
            status=OutboxStatus.PENDING,
            next_attempt_at=now + retry_delay(email.attempts),
            claim_token=None,
            claimed_at=None,
            last_error=error[:2000],
        )
    )


async def mark_failed(email: OutboxEmail, error: str, now: datetime) -> bool:
    """A permanent failure: stop, and tell the owner (or the admins) the server's reply."""
    async with in_transaction():
        done = await OutboxEmail.filter(_mine(email)).update(
            status=OutboxStatus.FAILED, claim_token=None, last_error=error[:2000]
        )
        if not done:
            return False
        params = {"subject": email.subject, "to": ", ".join(email.to_addrs), "error": error[:300]}
        key = f"email-failed:{email.id}"
        if email.owner_id is not None:
            await alert_user(email.owner_id, "email_failed", key, params)
        else:
            await alert_role((Role.ADMIN,), "email_failed", key, params)
    return True


async def outbox_counts() -> dict[str, int]:
    """How many emails are in each state (for /status)."""
    return {status.value: await OutboxEmail.filter(status=status).count() for status in OutboxStatus}
