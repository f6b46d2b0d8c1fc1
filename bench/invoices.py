"""Benchmark: render 1,000 ten-line invoices as Factur-X PDF/A-3B (XML built, XSD-checked
and embedded). Prints invoices/s (wall and CPU) and peak memory. Target >= 20 invoices/s.
Reference printed in the same run: fpdf2 alone writing a bare PDF/A-3B page with the same
embedded font and the same line texts (no XML, no QR code, no layout), the floor of any
PDF/A invoice written with this library.

    .venv/bin/python -m bench.invoices [--count 1000] [--quick]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import DocumentCompliance

from bench import machine
from mail.documents import Buyer, DocLine, InvoiceData, render_invoice_pdf
from mail.documents.invoice import FONT_DIR
from storage.invoicing import Seller, compute_totals, format_number, line_net, rf_reference

SELLER = Seller(
    name="Entonnoir Démo SAS", address="1 rue de la Paix\n75002 Paris\nFrance",
    siren="732829320", siret="73282932000074", vat="FR44732829320", rcs_city="Paris",
    capital="10 000 €", iban="FR7630006000011234567890189", bic="AGRIFRPP",
    email="factures@entonnoir.example",
)
BUYER = Buyer("Société Générale d'Équipement", "3 rue Neuve\n69001 Lyon", "552100554",
              "FR40303265045")
RATES = (2000, 1000, 550, 2000, 0)


def make(n: int) -> InvoiceData:
    lines = []
    for i in range(1, 11):
        qty = Decimal(i % 4 + 1) + Decimal("0.25") * (i % 2)
        price = 1_99 * i + n % 97
        rate = RATES[(i + n) % len(RATES)]
        lines.append(DocLine(i, f"Article n°{i} — qualité supérieure", qty, "unit", price, rate,
                             line_net(qty, price), f"SKU-{i:03d}"))
    number = format_number("F", 2026, n)
    issued = date(2026, 11, 20)
    return InvoiceData(
        number=number, issue_date=issued, due_date=issued + timedelta(days=30),
        sale_date=issued, seller=SELLER, buyer=BUYER, lines=tuple(lines),
        totals=compute_totals((ln.net_cents, ln.vat_rate_bp) for ln in lines),
        rf_reference=rf_reference(number), language="fr" if n % 2 else "en",
    )


def bare_pdf(doc: InvoiceData) -> bytes:
    """The reference: one PDF/A-3B page, the same font embedded, the lines as plain text."""
    pdf = FPDF(format="A4", unit="mm", enforce_compliance=DocumentCompliance.PDFA_3B)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 6, f"{doc.number} {doc.seller.name} {doc.buyer.name}", new_x="LMARGIN", new_y="NEXT")
    for line in doc.lines:
        pdf.cell(0, 6, f"{line.description} {line.quantity} {line.net_cents}", new_x="LMARGIN",
                 new_y="NEXT")
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
    print(f"{count} invoices of 10 lines in {wall:.1f} s: {count / wall:.1f} invoices/s wall, "
          f"{count / cpu:.1f} invoices/s per CPU second")
    print(f"average PDF {size / count / 1024:.0f} KiB; peak traced memory "
          f"per render {peak / 1024 / 1024:.1f} MiB; max RSS {rss:.0f} MiB")
    bare_pdf(docs[0])
    bare = time.perf_counter()
    for doc in docs:
        bare_pdf(doc)
    bare = time.perf_counter() - bare
    print(f"reference, fpdf2 alone (bare PDF/A-3B page, same font): {count / bare:.1f} pages/s "
          f"in the same run; ratio {wall / bare:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="20 invoices")
    args = parser.parse_args()
    main(20 if args.quick else args.count)
