"""The bytes of an issued invoice as sent to the PA: ONE function for every caller."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from mail.documents import invoice_data, render_invoice_pdf

if TYPE_CHECKING:
    from storage.invoicing import Seller

__all__ = ["document_bytes"]


async def document_bytes(invoice_id: int, seller: Seller) -> bytes:
    """The Factur-X PDF of an issued invoice or credit note.

    Today it is rendered from the database (the same function the email attachment uses);
    once issued documents are frozen (stored PDF bytes on the invoice row), this reads
    those bytes instead, so what the PA receives is byte for byte what was issued.
    Rendering runs in a worker thread, off the event loop.
    """
    data = await invoice_data(invoice_id, seller)
    return await asyncio.to_thread(render_invoice_pdf, data)
