"""Emails as rows: queued in the transaction of their cause, sent later by `mail.sender`."""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import Invoice, OutboxAttachment, OutboxEmail, User

__all__ = ["Attachment", "queue_email"]


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
