"""Documents rendered at send time: invoice (and credit note) PDFs with Factur-X XML.

`render_attachment` is what the outbox sender calls for an attachment stored as a
reference (`invoice_id` / `purchase_order_id`) rather than literal bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mail.documents.invoice import invoice_data, invoice_document, render_invoice_pdf
from mail.documents.model import Buyer, DocLine, InvoiceData

if TYPE_CHECKING:
    from storage.invoicing import Seller
    from storage.models import OutboxAttachment

__all__ = [
    "Buyer",
    "DocLine",
    "InvoiceData",
    "invoice_data",
    "invoice_document",
    "render_attachment",
    "render_invoice_pdf",
]


async def render_attachment(attachment: OutboxAttachment, seller: Seller) -> bytes:
    """The bytes of an outbox attachment: literal content, or the document it references."""
    if attachment.content is not None:
        return bytes(attachment.content)
    invoice_id = getattr(attachment, "invoice_id", None)
    if invoice_id is not None:
        return await invoice_document(invoice_id, seller)
    purchase_order_id = getattr(attachment, "purchase_order_id", None)
    if purchase_order_id is not None:
        from mail.documents.purchase_order import purchase_order_document

        return await purchase_order_document(purchase_order_id, seller)
    raise ValueError(f"outbox attachment {attachment.id} has neither content nor a document")
