"""Rendering never runs on the event loop: issuing a long invoice leaves the loop free."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest

from mail.documents import render_invoice_pdf
from mail.documents.invoice import invoice_data
from mail.documents.render import start_renderer
from storage.invoicing import draft_from_deal, issue_invoice
from storage.models import InvoiceDocument, InvoiceLine
from tests.billing_data import RENDER, SELLER, make_billing

LINES = 400


async def test_issuing_a_long_invoice_never_stalls_the_loop_100_ms(db: str) -> None:
    b = await make_billing()
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    await InvoiceLine.bulk_create(
        [
            InvoiceLine(
                invoice_id=draft.id,
                position=10 + i,
                description=f"Article {i}",
                quantity=1,
                unit="unit",
                unit_price_cents=1_00,
                vat_rate_bp=2000,
                net_cents=1_00,
            )
            for i in range(LINES)
        ]
    )
    await start_renderer()
    worst = 0.0
    done = asyncio.Event()

    async def probe() -> None:
        nonlocal worst
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - start - 0.005)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0.02)
    issued = (await issue_invoice(b.alice, draft.id, SELLER, date(2026, 11, 20), render=RENDER)).invoice
    done.set()
    await task
    frozen = await InvoiceDocument.get(invoice_id=issued.id)
    assert frozen.size > 0 and worst < 0.100, f"the loop stalled {worst * 1000:.0f} ms"
    # The same render on the loop would have stalled it longer than that.
    data = await invoice_data(issued.id, SELLER)
    start = time.perf_counter()
    render_invoice_pdf(data)
    assert time.perf_counter() - start > 0.100


async def test_where_no_process_can_start_rendering_falls_back_to_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from mail.documents import render as render_module
    from tests.mail.test_issued_document_content import _long_invoice

    def no_semaphores(_method: str) -> None:
        raise OSError("[Errno 38] Function not implemented")  # as in some containers

    await asyncio.to_thread(render_module.shutdown_renderer)
    monkeypatch.setattr(render_module.multiprocessing, "get_context", no_semaphores)
    try:
        pdf = await render_module.render_off_loop(_long_invoice(SELLER, 3))
        assert pdf.startswith(b"%PDF")
        assert isinstance(render_module._pool, ThreadPoolExecutor)
    finally:
        await asyncio.to_thread(render_module.shutdown_renderer)
