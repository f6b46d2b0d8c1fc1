"""The purchase order PDF sent to a supplier (fpdf2, the DejaVu font shipped with invoices).

Split in two: `purchase_order_data` reads the order into plain values; `render_purchase_order_pdf`
draws them (pure, testable without a database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from babel.dates import format_date
from fpdf import FPDF

from storage.formatting import babel_locale, fmt_qty
from storage.i18n import text

if TYPE_CHECKING:
    from storage.invoicing import Seller

__all__ = ["POData", "POLine", "purchase_order_data", "purchase_order_document", "render_purchase_order_pdf"]

FONT_DIR = Path(__file__).parent / "fonts"


@dataclass(frozen=True)
class POLine:
    sku: str
    name: str
    unit: str
    quantity: Decimal


@dataclass(frozen=True)
class POData:
    number: str
    issue_date: date
    expected_date: date | None
    lang: str
    buyer_name: str
    buyer_address: str
    buyer_email: str
    supplier_name: str
    supplier_address: str
    lines: tuple[POLine, ...]
    specimen: bool = False  # the demo identity: marked SPECIMEN like invoices


# The order's words, in the catalogues (`pdf.po_<name>`), in the supplier's language.
_LABELS = (
    "pdf.po_title",
    "pdf.po_date",
    "pdf.po_expected",
    "pdf.po_supplier",
    "pdf.po_sku",
    "pdf.po_item",
    "pdf.po_quantity",
    "pdf.po_unit",
)


def render_purchase_order_pdf(doc: POData) -> bytes:
    """The PDF bytes of a purchase order."""
    lang = "en" if doc.lang == "en" else "fr"
    title, dl, el, sl, skul, iteml, ql, ul = (text(lang, key) for key in _LABELS)
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_title(f"{title} {doc.number}")
    font = "Helvetica"
    if (FONT_DIR / "DejaVuSans.ttf").exists():
        pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        font = "DejaVu"
    pdf.add_page()
    pdf.set_font(font, "B", 11)
    pdf.multi_cell(90, 5, doc.buyer_name)
    pdf.set_font(font, "", 9)
    pdf.multi_cell(90, 4.5, f"{doc.buyer_address}\n{doc.buyer_email}")
    pdf.set_xy(120, 10)
    pdf.set_font(font, "B", 9)
    pdf.cell(80, 5, sl, new_x="LEFT", new_y="NEXT")
    pdf.set_font(font, "", 9)
    pdf.set_x(120)
    pdf.multi_cell(80, 4.5, f"{doc.supplier_name}\n{doc.supplier_address}".strip())
    pdf.set_y(55)
    pdf.set_font(font, "B", 16)
    pdf.cell(0, 10, f"{title} {doc.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, "", 10)
    locale = babel_locale(lang)
    pdf.cell(
        0,
        6,
        f"{dl}: {format_date(doc.issue_date, format='long', locale=locale)}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if doc.expected_date:
        pdf.cell(
            0,
            6,
            f"{el}: {format_date(doc.expected_date, format='long', locale=locale)}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(4)
    widths = (35, 95, 30, 30)
    pdf.set_font(font, "B", 10)
    for width, label in zip(widths, (skul, iteml, ql, ul), strict=True):
        pdf.cell(width, 7, label, border=1)
    pdf.ln()
    pdf.set_font(font, "", 10)
    for line in doc.lines:
        for width, value, align in zip(
            widths,
            (line.sku, line.name[:60], fmt_qty(line.quantity, lang), line.unit),
            ("L", "L", "R", "L"),
            strict=True,
        ):
            pdf.cell(width, 7, value, border=1, align=align)
        pdf.ln()
    pdf.ln(6)
    pdf.set_font(font, "", 9)
    pdf.multi_cell(0, 5, text(lang, "pdf.po_confirm", email=doc.buyer_email))
    if doc.specimen and font == "DejaVu":
        from mail.documents.invoice import stamp_specimen

        stamp_specimen(pdf)
    return bytes(pdf.output())


async def purchase_order_data(po_id: int, seller: Seller) -> POData:
    """Read a purchase order into plain values."""
    from storage.models import PurchaseOrder

    po = await PurchaseOrder.get(id=po_id).prefetch_related("supplier", "lines", "lines__product")
    supplier = po.supplier
    lines = tuple(
        POLine(
            ln.product.sku,
            ln.product.name,
            ln.product.unit,
            Decimal(str(ln.quantity)) - Decimal(str(ln.received_quantity)),
        )
        for ln in sorted(po.lines, key=lambda x: x.id)
    )
    issued = (po.sent_at or po.created_at).astimezone(seller.tz).date()  # the company's date
    return POData(
        number=f"PO{po.id}",
        issue_date=issued,
        expected_date=po.expected_date,
        lang="en" if supplier.invoice_language == "en" else "fr",
        buyer_name=seller.name,
        buyer_address=seller.address,
        buyer_email=seller.email,
        supplier_name=supplier.name,
        supplier_address=supplier.billing_address or "",
        lines=lines,
        specimen=seller.specimen,
    )


async def purchase_order_document(po_id: int, seller: Seller) -> bytes:
    """The PDF of a stored purchase order."""
    return render_purchase_order_pdf(await purchase_order_data(po_id, seller))
