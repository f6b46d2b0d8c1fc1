"""Issued documents never change: the PDF of an invoice or credit note is frozen at issue.

At issue, inside the issuing transaction, the caller's `Render` (built by the composition
root from the `mail.documents` renderer: storage imports no mail) turns the freshly numbered
invoice into its Factur-X PDF, and `freeze` stores those bytes with their SHA-256. The
invoice is numbered only if its bytes are stored with it. Every later use — the invoice
email, a re-send, a dunning attachment, `/invoicepdf`, an export — reads `frozen_pdf`,
so the client receives byte-identical files whatever changes afterwards in the settings or
in the client's billing data. Drafts have no document: they follow the live data.

Invoices issued before documents were frozen (or written by other means) are frozen at
their first use, with the data of that moment, and never again after.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from storage.errors import Conflict
from storage.models import Invoice, InvoiceDocument, InvoiceStatus

__all__ = ["Render", "freeze", "frozen_pdf", "frozen_sha256", "issued_numbers", "sha256_hex"]

Render = Callable[[int], Awaitable[bytes]]
"""Invoice id → its PDF bytes, read from the database (inside the caller's transaction)."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def freeze(invoice_id: int, render: Render, now: datetime | None = None) -> InvoiceDocument:
    """Render the issued invoice once and store its bytes (call inside the issuing
    transaction: a failed render rolls the number back with it)."""
    pdf = bytes(await render(invoice_id))
    return await InvoiceDocument.create(
        invoice_id=invoice_id,
        pdf=pdf,
        sha256=sha256_hex(pdf),
        size=len(pdf),
        frozen_at=now or datetime.now(UTC),
    )


async def frozen_pdf(invoice_id: int, render: Render) -> bytes:
    """The bytes of an issued invoice as issued (frozen now if it never was)."""
    stored = await InvoiceDocument.filter(invoice_id=invoice_id).values_list("pdf", flat=True)
    if stored:
        return bytes(stored[0])
    invoice = await Invoice.get(id=invoice_id)
    if invoice.status == InvoiceStatus.DRAFT or invoice.number is None:
        raise Conflict("invoice_draft", ref=f"I{invoice_id}")
    try:
        async with in_transaction():
            document = await freeze(invoice_id, render)
    except IntegrityError:  # frozen concurrently by another sender: that one wins
        document = await InvoiceDocument.get(invoice_id=invoice_id)
    return bytes(document.pdf)


async def frozen_sha256(invoice_id: int) -> str | None:
    """The SHA-256 of the frozen document, or None (draft, or not frozen yet)."""
    rows = await InvoiceDocument.filter(invoice_id=invoice_id).values_list("sha256", flat=True)
    return str(rows[0]) if rows else None


async def issued_numbers(year: int | None = None) -> list[tuple[int, str]]:
    """(id, number) of every issued invoice and credit note (of a year), in number order."""
    query = Invoice.filter(number__isnull=False).exclude(status=InvoiceStatus.DRAFT)
    if year is not None:
        query = query.filter(year=year)
    rows = await query.order_by("series", "year", "seq").values_list("id", "number")
    return [(int(i), str(n)) for i, n in rows]
