"""Benchmark: render 1,000 ten-line invoices as Factur-X PDF/A-3B (XML built, XSD-checked
and embedded). Prints invoices/s (wall and CPU) and peak memory. Target >= 20 invoices/s.
Reference printed in the same run: fpdf2 alone writing a bare PDF/A-3B page with the same
embedded font and the same line texts (no XML, no QR code, no layout), the floor of any
PDF/A invoice written with this library.

Then the event loop while invoices are issued and sent as the product does it: 100 ten-line
drafts issued (each rendered in the render thread and frozen in its issuing transaction, on
a SQLite file) and their 100 emails flushed by the outbox sender, while a probe on the loop
measures how late its 5 ms sleeps wake up. Prints the longest stall. Target < 100 ms.

    .venv/bin/python -m bench.invoices [--count 1000] [--sent 100] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import DocumentCompliance

from bench import machine
from mail.documents import Buyer, DocLine, InvoiceData, invoice_renderer, render_invoice_pdf
from mail.documents.invoice import FONT_DIR
from mail.sender import SmtpConfig, flush_outbox
from storage.db import close_db, init_db
from storage.invoicing import (
    Seller,
    add_invoice_line,
    compute_totals,
    draft_for_contact,
    format_number,
    issue_invoice,
    line_net,
    rf_reference,
)
from storage.models import Contact, ContactKind, OutboxEmail, OutboxStatus, Product, Role
from storage.users import create_user

SELLER = Seller(
    name="Entonnoir Démo SAS",
    address="1 rue de la Paix\n75002 Paris\nFrance",
    siren="732829320",
    siret="73282932000074",
    vat="FR44732829320",
    rcs_city="Paris",
    capital="10 000 €",
    iban="FR7630006000011234567890189",
    bic="AGRIFRPP",
    email="factures@entonnoir.example",
)
BUYER = Buyer("Société Générale d'Équipement", "3 rue Neuve\n69001 Lyon", "552100554", "FR40303265045")
RATES = (2000, 1000, 550, 2000, 0)


def make(n: int) -> InvoiceData:
    lines = []
    for i in range(1, 11):
        qty = Decimal(i % 4 + 1) + Decimal("0.25") * (i % 2)
        price = 1_99 * i + n % 97
        rate = RATES[(i + n) % len(RATES)]
        lines.append(
            DocLine(
                i,
                f"Article n°{i} — qualité supérieure",
                qty,
                "unit",
                price,
                rate,
                line_net(qty, price),
                f"SKU-{i:03d}",
            )
        )
    number = format_number("F", 2026, n)
    issued = date(2026, 11, 20)
    return InvoiceData(
        number=number,
        issue_date=issued,
        due_date=issued + timedelta(days=30),
        sale_date=issued,
        seller=SELLER,
        buyer=BUYER,
        lines=tuple(lines),
        totals=compute_totals((ln.net_cents, ln.vat_rate_bp) for ln in lines),
        rf_reference=rf_reference(number),
        language="fr" if n % 2 else "en",
    )


class LoopProbe:
    """How late the event loop wakes a task that sleeps 5 ms at a time (its stalls)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval, self.worst, self.samples = interval, 0.0, 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.worst = max(self.worst, time.perf_counter() - start - self.interval)
            self.samples += 1

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def loop_stall(count: int = 100) -> None:
    """Issue `count` ten-line invoices and send their emails, probing the loop."""
    render = invoice_renderer(SELLER)
    with tempfile.TemporaryDirectory() as tmp:
        await init_db(f"sqlite://{tmp}/bench.db", migrate=False, generate=True)
        try:
            boss = await create_user("boss", Role.MANAGER, telegram_id=1)
            client = await Contact.create(
                name=BUYER.name,
                kind=ContactKind.COMPANY,
                owner=boss,
                search_key="bench",
                billing_address=BUYER.address,
                billing_email="compta@acme.example",
                siren=BUYER.siren,
                vat_number=BUYER.vat,
            )
            for i in range(1, 11):
                await Product.create(
                    sku=f"SKU-{i:03d}",
                    name=f"Article n°{i}",
                    unit_price_cents=1_99 * i,
                    vat_rate_bp=RATES[i % 5],
                )
            drafts = []
            for _ in range(count):
                draft = await draft_for_contact(boss, client.id, SELLER)
                for i in range(1, 11):
                    await add_invoice_line(boss, draft.id, f"SKU-{i:03d}", Decimal(i % 4 + 1), SELLER)
                drafts.append(draft.id)
            probe = LoopProbe()
            probe.start()
            started = time.perf_counter()
            for draft_id in drafts:
                await issue_invoice(boss, draft_id, SELLER, date(2026, 11, 20), render=render)
            issued = time.perf_counter() - started
            issue_stall = probe.worst
            started = time.perf_counter()
            result = await flush_outbox(SmtpConfig(host=None, eml_dir=Path(tmp) / "eml", seller=SELLER))
            sent_s = time.perf_counter() - started
            await probe.stop()
            sent = await OutboxEmail.filter(status=OutboxStatus.SENT).count()
        finally:
            await close_db()
    print(
        f"{count} invoices issued (rendered off the loop, frozen) in {issued:.1f} s "
        f"({count / issued:.1f}/s), {sent} emails sent in {sent_s:.1f} s ({result})"
    )
    print(
        f"longest event-loop stall: {probe.worst * 1000:.0f} ms over {probe.samples} probes "
        f"(while issuing: {issue_stall * 1000:.0f} ms)  [target < 100 ms]"
    )


def bare_pdf(doc: InvoiceData) -> bytes:
    """The reference: one PDF/A-3B page, the same font embedded, the lines as plain text."""
    pdf = FPDF(format="A4", unit="mm", enforce_compliance=DocumentCompliance.PDFA_3B)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 6, f"{doc.number} {doc.seller.name} {doc.buyer.name}", new_x="LMARGIN", new_y="NEXT")
    for line in doc.lines:
        pdf.cell(0, 6, f"{line.description} {line.quantity} {line.net_cents}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def main(count: int = 1000) -> None:
    print(machine())
    render_invoice_pdf(make(0))  # warm-up: fonts, XSD, imports
    docs = [make(n) for n in range(1, count + 1)]
    wall, cpu = time.perf_counter(), time.process_time()
    size = 0
    for doc in docs:
        size += len(render_invoice_pdf(doc))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # Peak Python memory of one render, measured apart (tracemalloc slows everything down).
    tracemalloc.start()
    render_invoice_pdf(docs[0])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{count} invoices of 10 lines in {wall:.1f} s: {count / wall:.1f} invoices/s wall, "
        f"{count / cpu:.1f} invoices/s per CPU second"
    )
    print(
        f"average PDF {size / count / 1024:.0f} KiB; peak traced memory "
        f"per render {peak / 1024 / 1024:.1f} MiB; max RSS {rss:.0f} MiB"
    )
    bare_pdf(docs[0])
    bare = time.perf_counter()
    for doc in docs:
        bare_pdf(doc)
    bare = time.perf_counter() - bare
    print(
        f"reference, fpdf2 alone (bare PDF/A-3B page, same font): {count / bare:.1f} pages/s "
        f"in the same run; ratio {wall / bare:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--sent", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="20 invoices, 10 sent")
    args = parser.parse_args()
    main(20 if args.quick else args.count)
    asyncio.run(loop_stall(10 if args.quick else args.sent))
