"""Documents: invoice (and credit note) PDFs with Factur-X XML, purchase orders.

`render_attachment` is what the outbox sender calls for an attachment stored as a
reference (`invoice_id` / `purchase_order_id`) rather than literal bytes. An invoice is
delivered as it was frozen at issue (`storage.documents.frozen_pdf`), never re-rendered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mail.documents.invoice import invoice_data, invoice_document, render_invoice_pdf
from mail.documents.model import Buyer, DocLine, InvoiceData
from mail.documents.render import invoice_renderer, off_loop, render_off_loop
from storage.documents import frozen_pdf

if TYPE_CHECKING:
    from storage.invoicing import Seller
    from storage.models import OutboxAttachment

__all__ = [
    "Buyer",
    "DocLine",
    "InvoiceData",
    "invoice_data",
    "invoice_document",
    "invoice_renderer",
    "render_attachment",
    "render_invoice_pdf",
    "render_off_loop",
]


async def render_attachment(attachment: OutboxAttachment, seller: Seller) -> bytes:
    """The bytes of an outbox attachment: literal content, or the document it references."""
    if attachment.content is not None:
        return bytes(attachment.content)
    invoice_id = getattr(attachment, "invoice_id", None)
    if invoice_id is not None:
        return await frozen_pdf(invoice_id, invoice_renderer(seller))
    purchase_order_id = getattr(attachment, "purchase_order_id", None)
    if purchase_order_id is not None:
        from mail.documents.purchase_order import purchase_order_data, render_purchase_order_pdf

        data = await purchase_order_data(purchase_order_id, seller)
        return await off_loop(render_purchase_order_pdf, data)
    raise ValueError(f"outbox attachment {attachment.id} has neither content nor a document")
