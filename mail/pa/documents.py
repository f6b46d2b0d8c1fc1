"""The bytes of an issued invoice as sent to the PA: ONE function for every caller."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mail.documents.render import invoice_renderer
from storage.documents import frozen_pdf

if TYPE_CHECKING:
    from storage.invoicing import Seller

__all__ = ["document_bytes"]


async def document_bytes(invoice_id: int, seller: Seller) -> bytes:
    """The frozen Factur-X PDF of an issued invoice or credit note.

    These are the bytes stored at issue (`storage.documents.frozen_pdf`): the PA receives,
    byte for byte, the file the email attachment, `/invoicepdf` and the export carry, with
    the same SHA-256. `seller` only serves an invoice issued before documents were frozen,
    which is frozen once, now, off the event loop.
    """
    return await frozen_pdf(invoice_id, invoice_renderer(seller))
