"""The invoice PDF as a client reads it: long designations wrap, an 80-line invoice runs over
three pages that each repeat the table header and carry the number and "page x / y", and
no glyph is printed over another (pdfplumber's character boxes, page by page)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pdfplumber
import pytest

from mail.documents import Buyer, DocLine, InvoiceData, render_invoice_pdf
from mail.documents.facturx_xml import build_cii_xml
from mail.documents.invoice import group_siren
from storage.invoicing import compute_totals, line_discount, line_net
from tests.billing_data import SELLER
from tests.mail.test_invoice_document import failed_asserts, schematron

__all__ = ["schematron"]

TODAY = date(2026, 11, 20)
MM = 72 / 25.4  # PDF points per millimetre
LONG = (
    "Maintenance préventive annuelle des installations de ventilation double flux, "
    "comprenant le remplacement des filtres F7 et G4, le contrôle des débits, le nettoyage "
    "des bouches d'extraction et le rapport d'intervention signé"
)


def eighty_lines(credit_note: bool = False, language: str = "fr") -> InvoiceData:
    lines = []
    for i in range(1, 81):
        qty = Decimal(i % 5 + 1)
        price = 7_35 * i
        description = f"REF-{i:03d} " + (LONG if i % 20 == 5 else f"Article numéro {i}")
        bp = 1000 if i % 9 == 0 else 0
        off = line_discount(qty, price, bp)
        lines.append(
            DocLine(
                i,
                description,
                qty,
                "unit",
                price,
                (2000, 550, 1000)[i % 3],
                line_net(qty, price, bp),
                f"REF-{i:03d}",
                nature="goods" if i % 2 else "services",
                discount_bp=bp,
                discount_cents=off,
                discount_reason="Remise quantité" if off else None,
            )
        )
    totals = compute_totals(
        ((ln.net_cents, ln.vat_rate_bp) for ln in lines),
        discount_bp=300,
        discount_reason="Remise de fin d'année",
    )
    return InvoiceData(
        number="A2026-00003" if credit_note else "F2026-00042",
        issue_date=TODAY,
        due_date=TODAY,
        sale_date=TODAY,
        seller=SELLER,
        buyer=Buyer(
            "Société Générale d'Équipement et de Maintenance Industrielle du Rhône",
            "Bâtiment C, 3e étage\n3 rue Neuve\n69001 Lyon",
            "552100554",
            "FR40303265045",
            delivery_address="Entrepôt Sud\n69800 Saint-Priest",
        ),
        lines=tuple(lines),
        totals=totals,
        rf_reference="RF47F202600042",
        credit_note=credit_note,
        original_number="F2026-00041" if credit_note else None,
        original_issue_date=TODAY if credit_note else None,
        reason="Erreur de quantité" if credit_note else None,
        language=language,
        buyer_reference="ACHATS-RHONE",
        purchase_order="PO-4471",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
    )


def overlaps(chars: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    """Pairs of glyphs whose boxes cover each other by more than a sliver (kerning and
    touching lines are not overprinting)."""
    found = []
    ordered = sorted(chars, key=lambda c: c["x0"])
    for i, a in enumerate(ordered):
        if not a["text"].strip():
            continue
        for b in ordered[i + 1 :]:
            if b["x0"] >= a["x1"]:
                break
            if not b["text"].strip():
                continue
            w = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
            h = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            smaller = min(
                (a["x1"] - a["x0"]) * (a["bottom"] - a["top"]), (b["x1"] - b["x0"]) * (b["bottom"] - b["top"])
            )
            if w > 0 and h > 0 and w * h > 0.2 * smaller:
                found.append((a["text"], b["text"], round(a["top"], 1)))
    return found


HEADERS = {
    "fr": "Désignation Qté Unité P.U. HT Remise TVA Total HT",
    "en": "Description Qty Unit Unit price Discount VAT Total excl. VAT",
}


@pytest.mark.parametrize(("credit_note", "language"), [(False, "fr"), (True, "fr"), (False, "en")])
def test_eighty_lines_span_three_pages_without_overprinting(credit_note: bool, language: str) -> None:
    doc = eighty_lines(credit_note, language)
    pdf = render_invoice_pdf(doc)
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        pages = document.pages
        assert len(pages) == 3
        texts, column = [], []
        for n, page in enumerate(pages, start=1):
            text = page.extract_text()
            texts.append(text)
            # The designation column (15 to 77 mm): wrapped lines read in order.
            column.append(page.within_bbox((0, 0, 77 * MM, page.height)).extract_text())
            assert HEADERS[language] in text, n  # the header, on every page, words apart
            assert f"{doc.number} — page {n} / 3" in text, n
            assert overlaps(page.chars) == [], n
            for char in page.chars:  # nothing cut at the edges
                assert char["x0"] >= 0 and char["x1"] <= page.width, char["text"]
                assert char["top"] >= 0 and char["bottom"] <= page.height, char["text"]
    words = " ".join(" ".join(t.split()) for t in texts)
    designations = " ".join(" ".join(t.split()) for t in column)
    for line in doc.lines:  # every designation printed whole, wrapped where long
        assert line.description in designations, line.position
    assert words.count("rapport d'intervention signé") == 4
    assert "SIREN 552 100 554" in words


def test_multi_page_invoice_and_credit_note_pass_the_schematron(schematron: Any) -> None:
    for credit_note in (False, True):
        xml = build_cii_xml(eighty_lines(credit_note))
        assert failed_asserts(schematron, xml) == []


def test_siren_and_siret_are_printed_grouped() -> None:
    assert group_siren("552100554") == "552 100 554"
    assert group_siren("55210055400014") == "552 100 554 00014"
    assert group_siren("ABC") == "ABC"


def test_the_overlap_check_sees_overprinted_text() -> None:
    from fpdf import FPDF

    from mail.documents.invoice import FONT_DIR

    pdf = FPDF(format="A4", unit="mm")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "", 8)
    pdf.set_xy(15, 50)
    pdf.cell(40, 5, "Une désignation beaucoup trop longue pour sa colonne")
    pdf.set_xy(50, 50)
    pdf.cell(20, 5, "1 234,00 €", align="R")
    with pdfplumber.open(io.BytesIO(bytes(pdf.output()))) as document:
        assert overlaps(document.pages[0].chars) != []
