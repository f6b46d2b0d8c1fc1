"""Rendering off the event loop, and the `Render` that freezes issued documents.

Rendering a Factur-X PDF is CPU work (tens of milliseconds): it runs in one dedicated worker
thread, never on the event loop, so the bot keeps answering while invoices render. One
thread, not several: renders queue up instead of fighting over the GIL, and the libraries
(fpdf2, lxml's shared XSD) never run twice at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from mail.documents.invoice import invoice_data, render_invoice_pdf
from mail.documents.model import InvoiceData

if TYPE_CHECKING:
    from storage.documents import Render
    from storage.invoicing import Seller

__all__ = ["invoice_renderer", "off_loop", "render_off_loop"]

_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="entonnoir-render")
T = TypeVar("T")


async def off_loop(fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` in the render thread."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, fn, *args)


async def render_off_loop(doc: InvoiceData) -> bytes:
    """`render_invoice_pdf(doc)` in the render thread."""
    return await off_loop(render_invoice_pdf, doc)


def invoice_renderer(seller: Seller) -> Render:
    """The `Render` storage freezes issued documents with: the invoice's data read from the
    database (in the caller's transaction), the PDF rendered in the render thread."""

    async def render(invoice_id: int) -> bytes:
        return await render_off_loop(await invoice_data(invoice_id, seller))

    return render
